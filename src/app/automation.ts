/**
 * A small hook on `window` for the headless command and the end-to-end tests. It drives the same state
 * and actions as the buttons, so a headless run is the same profile as a run through the page.
 */
import type { ProfilerState, SweepSettingsState } from './profiler.svelte';
import type { Backend, ProfileResult } from '../report/result';
import type { SyntheticProteinOptions } from '../sequences/synthetic';

export interface AutomationSettings {
  modelId?: string;
  backend?: Backend;
  sweep?: Partial<SweepSettingsState>;
  /** Changes the synthetic input and reads it again; ignored while a FASTA file is chosen. */
  synthetic?: Partial<SyntheticProteinOptions>;
}

export interface ProfilerAutomation {
  configure(settings: AutomationSettings): Promise<void>;
  /** Runs a profile and resolves with the result, or rejects with the run's error message. */
  run(): Promise<ProfileResult>;
  /** Runs the configured model once on the first `count` input sequences; data as a plain array. */
  forward(count: number): Promise<{ dims: number[]; data: number[] }>;
  snapshot(): { phase: string; statusText: string; pointCount: number; inputCount: number | null; inputError: string | null };
}

declare global {
  interface Window {
    batchProfiler?: ProfilerAutomation;
  }
}

export function installAutomation(profiler: ProfilerState): void {
  window.batchProfiler = {
    async configure(settings) {
      if (settings.modelId) profiler.modelId = settings.modelId;
      if (settings.backend) profiler.backend = settings.backend;
      if (settings.sweep) profiler.sweep = { ...profiler.sweep, ...settings.sweep };
      if (settings.synthetic && !profiler.fastaFile) {
        profiler.synthetic = { ...profiler.synthetic, ...settings.synthetic };
        await profiler.loadInput();
      }
    },
    async run() {
      await profiler.run();
      if (profiler.result) return profiler.result;
      throw new Error(profiler.runError ? `${profiler.runError.name}: ${profiler.runError.message}` : `The run ended in phase "${profiler.phase}" without a result.`);
    },
    async forward(count) {
      const output = await profiler.forward(count);
      return { dims: output.dims, data: Array.from(output.data) };
    },
    snapshot() {
      return {
        phase: profiler.phase,
        statusText: profiler.statusText,
        pointCount: profiler.points.length,
        inputCount: profiler.input?.sequenceCount ?? null,
        inputError: profiler.inputError,
      };
    },
  };
}
