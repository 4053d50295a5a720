/**
 * A small hook on `window` for the headless command and the end-to-end tests. It drives the same state
 * and actions as the buttons, so a headless run is the same profile as a run through the page.
 */
import type { Precision, ProfilerState, SweepSettingsState } from './profiler.svelte';
import type { ModelSourceKind } from './exportSource.svelte';
import type { OnnxVariant } from '../models/modelSources';
import type { ArchitectureOverride } from '../models/userModel';
import type { Backend, CapacityReport, ProfileResult } from '../report/result';
import type { SyntheticProteinOptions } from '../sequences/synthetic';
import type { SyntheticDnaOptions } from '../sequences/syntheticDna';
import type { ChunkSettings } from '../worker/api';
import type { SearchStrategy } from '../profiling/search';

export interface AutomationSettings {
  modelId?: string;
  backend?: Backend;
  sweep?: Partial<SweepSettingsState>;
  /** Changes the synthetic input and reads it again; ignored while a FASTA file is chosen. */
  synthetic?: Partial<SyntheticProteinOptions>;
  /** Changes the synthetic DNA and reads it again; ignored while a FASTA file is chosen. */
  syntheticDna?: Partial<SyntheticDnaOptions>;
  chunking?: Partial<ChunkSettings>;
  withProteins?: boolean;
  proteinModelId?: string;
  strategy?: SearchStrategy;
  /** Simulated GPU memory such as "512MiB"; an empty string removes it. */
  gpuBudget?: string;
  /** Caps the device's maxBufferSize in bytes (null: the adapter's maximum). */
  maxBufferSizeCap?: number | null;
  /** False runs batches that are predicted to exceed maxBufferSize, to see the real failure. */
  predictLimits?: boolean;
  confirmRecommendation?: boolean;
  captureKernelTimes?: boolean;
  precision?: Precision;
  /** Source of the model; 'builtin' uses `modelId`. Local files are chosen through the page's file input. */
  modelSource?: ModelSourceKind;
  hubId?: string;
  hubVariant?: OnnxVariant;
  hubBaseUrl?: string;
  modelUrl?: string;
  manifestEntryId?: string;
  /** Family and sizes of an export whose architecture cannot be identified; null clears them. */
  architecture?: ArchitectureOverride | null;
}

export interface ProfilerAutomation {
  configure(settings: AutomationSettings): Promise<void>;
  /** Runs a profile and resolves with the result, or rejects with the run's error message. */
  run(): Promise<ProfileResult>;
  /** Destroys the worker's GPU device, as a driver reset would, to test recovery. */
  loseDevice(): Promise<void>;
  /** Runs the opt-in capacity estimate up to `cap` (such as "1GiB") and resolves with its report. */
  estimateCapacity(cap?: string): Promise<CapacityReport>;
  /** Loads and inspects the chosen export; rejects with its error message. */
  loadExport(): Promise<void>;
  /** Bytes of exports in Cache Storage, read again now. */
  modelCacheBytes(): Promise<number | null>;
  clearModelCache(): Promise<void>;
  /** GPU bytes that the worker's buffers hold now; null on WASM or before the backend started. */
  liveGpuBytes(): Promise<number | null>;
  /** Releases the worker's session, as loading another model does. */
  releaseModel(): Promise<void>;
  /** Runs the configured model once on the first `count` input sequences; data as a plain array. */
  forward(count: number): Promise<{ dims: number[]; data: number[] }>;
  snapshot(): {
    phase: string;
    statusText: string;
    pointCount: number;
    inputCount: number | null;
    inputLoading: boolean;
    inputFileName: string | null;
    inputError: string | null;
    tokenCounts: 'exact' | 'estimated';
    tokenizerError: string | null;
    /** Error of the run, or of its protein half when the DNA result was kept. */
    runError: string | null;
    exportLoading: boolean;
    /** Error of the last export load, with the next step in it. */
    exportError: string | null;
    /** Id of the loaded export, or null while none is loaded. */
    exportModelId: string | null;
    progress: { sweep: string; index: number; total: number; batchSize: number } | null;
  };
}

declare global {
  interface Window {
    batchProfiler?: ProfilerAutomation;
  }
}

export function installAutomation(profiler: ProfilerState): void {
  window.batchProfiler = {
    async configure(settings) {
      // The model goes first, because a change between protein and DNA models resets the sweep to that kind's defaults.
      if (settings.modelId && settings.modelId !== profiler.modelId) await profiler.selectModel(settings.modelId);
      if (settings.backend) profiler.backend = settings.backend;
      if (settings.sweep) profiler.sweep = { ...profiler.sweep, ...settings.sweep };
      if (settings.withProteins !== undefined) profiler.withProteins = settings.withProteins;
      if (settings.proteinModelId) profiler.proteinModelId = settings.proteinModelId;
      if (settings.strategy) profiler.strategy = settings.strategy;
      if (settings.gpuBudget !== undefined) profiler.gpuBudget = settings.gpuBudget;
      if (settings.maxBufferSizeCap !== undefined) profiler.maxBufferSizeCap = settings.maxBufferSizeCap;
      if (settings.predictLimits !== undefined) profiler.predictLimits = settings.predictLimits;
      if (settings.confirmRecommendation !== undefined) profiler.confirmRecommendation = settings.confirmRecommendation;
      if (settings.captureKernelTimes !== undefined) profiler.captureKernelTimes = settings.captureKernelTimes;
      if (settings.precision !== undefined) profiler.precision = settings.precision;
      const source = profiler.exportSource;
      if (settings.modelSource !== undefined) source.kind = settings.modelSource;
      if (settings.hubId !== undefined) source.hubId = settings.hubId;
      if (settings.hubVariant !== undefined) source.variant = settings.hubVariant;
      if (settings.hubBaseUrl !== undefined) source.hubBaseUrl = settings.hubBaseUrl;
      if (settings.modelUrl !== undefined) source.url = settings.modelUrl;
      if (settings.manifestEntryId !== undefined) source.manifestEntryId = settings.manifestEntryId;
      if (settings.architecture !== undefined) {
        profiler.architecture = settings.architecture;
        profiler.architectureTarget = null;
      }
      let reload = false;
      if (settings.chunking) {
        profiler.chunking = { ...profiler.chunking, ...settings.chunking };
        reload = true;
      }
      if (settings.synthetic) {
        profiler.synthetic = { ...profiler.synthetic, ...settings.synthetic };
        reload = true;
      }
      if (settings.syntheticDna) {
        profiler.syntheticDna = { ...profiler.syntheticDna, ...settings.syntheticDna };
        reload = true;
      }
      if (reload) await profiler.loadInput();
    },
    async run() {
      await profiler.run();
      if (profiler.result) return profiler.result;
      throw new Error(profiler.runError ? profiler.runError.message : `The run ended in phase "${profiler.phase}" without a result.`);
    },
    loseDevice() {
      return profiler.loseDevice();
    },
    async estimateCapacity(cap) {
      if (cap !== undefined) profiler.capacityCap = cap;
      await profiler.estimateCapacity();
      if (profiler.capacityError) throw new Error(profiler.capacityError);
      if (!profiler.capacity) throw new Error('The capacity estimate returned nothing.');
      return profiler.capacity;
    },
    async loadExport() {
      await profiler.loadExport();
      if (profiler.exportError) throw new Error(profiler.exportError);
    },
    async modelCacheBytes() {
      await profiler.refreshModelCacheBytes();
      return profiler.modelCacheBytes;
    },
    clearModelCache() {
      return profiler.clearModelCache();
    },
    liveGpuBytes() {
      return profiler.liveGpuBytes();
    },
    releaseModel() {
      return profiler.releaseModel();
    },
    async forward(count) {
      const output = await profiler.forward(count);
      return { dims: output.dims, data: Array.from(output.data) };
    },
    snapshot() {
      return {
        phase: profiler.phase,
        statusText: profiler.statusText,
        pointCount: profiler.points.length + profiler.companionPoints.length,
        inputCount: profiler.input?.sequenceCount ?? null,
        inputLoading: profiler.inputLoading,
        inputFileName: profiler.input?.fileName ?? null,
        inputError: profiler.inputError,
        tokenCounts: profiler.tokenizer.tokenCounts,
        tokenizerError: profiler.tokenizerError,
        runError: profiler.runError?.message ?? null,
        exportLoading: profiler.exportLoading,
        exportError: profiler.exportError,
        exportModelId: profiler.exportInfo && profiler.model ? profiler.model.id : null,
        progress: profiler.progress
          ? { sweep: profiler.sweepLabel, index: profiler.progress.index, total: profiler.progress.total, batchSize: profiler.progress.batchSize }
          : null,
      };
    },
  };
}
