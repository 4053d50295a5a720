/**
 * The bare `session.run` loop that bench/overhead.ts and bench/session-options.ts measure against. It
 * builds a batch in Node exactly as the engine builds it, bundles bench/bareWorker.ts with the project's
 * Vite config, starts that bundle as a module worker in the app's page, and times runs there. The
 * worker loads the same onnxruntime-web build as the profiler's worker (`onnxruntime-web/webgpu`,
 * resolved to ort.webgpu.min.mjs) and the same wasm runtime files from the app's `/ort/` folder.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { build, type Rolldown } from 'vite';
import { launchChromium } from '../src/cli/browser';
import { buildApp, buildIsStale, PROJECT_ROOT, serveApp } from '../src/cli/server';
import { getModelConfig } from '../src/models/catalog';
import { buildModel } from '../src/models/build';
import { synthesizeProteins, type SyntheticProteinOptions } from '../src/sequences/synthetic';
import { prepareProteinInput } from '../src/sequences/inputPipeline';
import { buildEsmBatchTensors, selectSequenceBatch } from '../src/sequences/batching';
import { median } from '../src/profiling/stats';
import { STORAGE_BUFFER_CACHE_MODE } from '../src/worker/engine';

export type BenchBackend = 'webgpu' | 'wasm';

/** The session options that the benchmarks vary. The WebGPU-only ones are ignored on WASM. */
export interface BareSessionOptions {
  graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
  preferredOutputLocation: 'cpu' | 'gpu-buffer';
  storageBufferCacheMode: 'disabled' | 'lazyRelease' | 'simple' | 'bucket';
}

/** The options src/worker/engine.ts createSession uses. It leaves the output location at ORT's default, 'cpu'. */
export const ENGINE_SESSION_OPTIONS: BareSessionOptions = {
  graphOptimizationLevel: 'all',
  preferredOutputLocation: 'cpu',
  storageBufferCacheMode: STORAGE_BUFFER_CACHE_MODE,
};

/** Messages from the benchmark to the worker. */
export type BareRequest =
  | { kind: 'initialize'; backend: BenchBackend; wasmPaths: string; countGpuBytes: boolean }
  | { kind: 'load'; modelBytes: Uint8Array; inputIds: BigInt64Array; attentionMask: BigInt64Array; dims: [number, number] }
  | { kind: 'measure'; options: BareSessionOptions; warmupRuns: number; timedRuns: number; returnOutput: boolean };

export type BareResponse = { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string };

/** Setup report of the worker, sent once onnxruntime-web and, for WebGPU, the device are ready. */
export interface BareReady {
  crossOriginIsolated: boolean;
  wasmThreads: number;
  /** Adapter vendor and architecture; null on WASM. */
  adapter: string | null;
}

/** One measurement in the worker. Byte counts are null unless the worker counts GPU allocations. */
export interface BareMeasurement {
  /** Duration of each timed run: `session.run` plus `getData()` of `last_hidden_state`, in ms. */
  durationsMs: number[];
  /** Peak requested GPU bytes over the warm-up and timed runs, weights included (see src/gpu/accounting.ts). */
  peakBytes: number | null;
  /** Requested GPU bytes still live after the last run, before the session is released. */
  liveBytesAfterRuns: number | null;
  /** `last_hidden_state` of the last timed run, when requested. */
  output: Float32Array | null;
}

/** A measurement as it reaches Node, with the median of the timed runs. */
export interface BareResult extends Omit<BareMeasurement, 'output'> {
  medianMs: number;
  output: Float32Array | null;
}

/** A batch of a built-in protein model, built as the engine builds it for a probe by sequence count. */
export interface BenchBatch {
  modelId: string;
  modelBytes: Uint8Array;
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  /** [sequences, paddedLength]. */
  dims: [number, number];
  sequences: number;
  /** Real tokens in the batch, padding excluded. */
  tokens: number;
  paddedTokens: number;
}

/**
 * Builds the graph and the batch tensors that the engine would run for `sequences` sequences of the
 * synthetic input. The graph uses weight seed 1, the engine's default. The input goes through
 * prepareProteinInput, and its first `sequences` through selectSequenceBatch and buildEsmBatchTensors.
 * Throws a RangeError for a DNA model, which the benchmarks do not cover.
 */
export function buildBenchBatch(modelId: string, synthetic: SyntheticProteinOptions, sequences: number): BenchBatch {
  const config = getModelConfig(modelId);
  if (config.family !== 'esm2') throw new RangeError(`Invalid model ${modelId}: the benchmarks run ESM-2 models only. Use esm2_tiny.`);
  const built = buildModel(config, { seed: 1 });
  if (built.externalData.length > 0) throw new RangeError(`Invalid model ${modelId}: its weights need external data, which the bare loop does not pass. Use a smaller model.`);

  const input = prepareProteinInput(synthesizeProteins(synthetic), { source: 'synthetic', synthetic: { ...synthetic }, notices: [] }, config.maxResidues);
  const batch = selectSequenceBatch(input.lengthsTokens, sequences);
  const tensors = buildEsmBatchTensors(input.encoded, batch);
  return {
    modelId,
    modelBytes: built.modelBytes,
    inputIds: tensors.inputIds,
    attentionMask: tensors.attentionMask,
    dims: tensors.dims,
    sequences: batch.sequences,
    tokens: batch.tokens,
    paddedTokens: batch.paddedTokens,
  };
}

/**
 * Bundles bench/bareWorker.ts into one ES module, in memory, with the project's Vite config, so that
 * `onnxruntime-web/webgpu` resolves to the same file as in the app's worker.
 */
export async function bundleBareWorker(): Promise<string> {
  const output = (await build({
    root: PROJECT_ROOT,
    logLevel: 'warn',
    build: {
      write: false,
      copyPublicDir: false,
      minify: false,
      rolldownOptions: {
        input: join(PROJECT_ROOT, 'bench/bareWorker.ts'),
        // One chunk, because the page starts the worker from a single blob.
        output: { format: 'es', entryFileNames: 'bare-worker.js', codeSplitting: false },
      },
    },
  })) as Rolldown.RolldownOutput | Rolldown.RolldownOutput[];
  const chunks = (Array.isArray(output) ? output : [output]).flatMap((result) => result.output);
  const entry = chunks.find((chunk): chunk is Rolldown.OutputChunk => chunk.type === 'chunk' && chunk.isEntry);
  if (!entry) throw new Error(`Bundling bench/bareWorker.ts produced no entry chunk; it produced: ${chunks.map((chunk) => chunk.fileName).join(', ')}.`);
  return entry.code;
}

declare global {
  interface Window {
    /** The page's handle on the bare-loop worker, installed by BareLoop.start. */
    bareLoop?: { call(request: BareRequest, transfer: Transferable[]): Promise<unknown> };
  }
}

function toBase64(view: ArrayBufferView): string {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('base64');
}

/**
 * The bare loop, running in a module worker of `page`. The worker runs requests one after another.
 *
 * NOTE: code inside page.evaluate avoids named function expressions, because tsx compiles with
 * esbuild's keepNames, which wraps them in a `__name` helper that does not exist in the page.
 */
export class BareLoop {
  private constructor(
    private readonly page: Page,
    readonly ready: BareReady,
  ) {}

  /**
   * Starts the worker in `page`, which must show the app at `appUrl` (the worker fetches the wasm
   * runtime from its `/ort/` folder). `countGpuBytes` wraps `device.createBuffer` to report peaks.
   */
  static async start(page: Page, options: { appUrl: string; backend: BenchBackend; countGpuBytes: boolean; workerSource: string }): Promise<BareLoop> {
    await page.evaluate((source) => {
      // A blob worker inherits the page's cross-origin isolation, so it gets the same wasm threads as the profiler's worker.
      const worker = new Worker(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })), { type: 'module', name: 'bare-loop' });
      const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
      let nextId = 0;
      worker.onmessage = (event: MessageEvent<BareResponse>) => {
        const response = event.data;
        const entry = pending.get(response.id);
        pending.delete(response.id);
        if (response.ok) entry?.resolve(response.value);
        else entry?.reject(new Error(response.message));
      };
      worker.onerror = (event) => {
        for (const entry of pending.values()) entry.reject(new Error(`The bare-loop worker failed: ${event.message || 'the module did not load'}.`));
        pending.clear();
      };
      window.bareLoop = {
        call(request, transfer) {
          nextId += 1;
          const id = nextId;
          return new Promise((resolve, reject) => {
            pending.set(id, { resolve, reject });
            worker.postMessage({ id, request }, transfer);
          });
        },
      };
    }, options.workerSource);

    const wasmPaths = new URL('ort/', options.appUrl).href;
    const request: BareRequest = { kind: 'initialize', backend: options.backend, wasmPaths, countGpuBytes: options.countGpuBytes };
    const ready = (await page.evaluate((value) => window.bareLoop!.call(value, []), request)) as BareReady;
    return new BareLoop(page, ready);
  }

  /** Sends the graph and the batch tensors to the worker, which keeps them for every later measurement. */
  async load(batch: BenchBatch): Promise<void> {
    const encoded = { model: toBase64(batch.modelBytes), inputIds: toBase64(batch.inputIds), attentionMask: toBase64(batch.attentionMask), dims: batch.dims };
    await this.page.evaluate((data) => {
      const modelBytes = Uint8Array.from(atob(data.model), (character) => character.charCodeAt(0));
      const inputIds = new BigInt64Array(Uint8Array.from(atob(data.inputIds), (character) => character.charCodeAt(0)).buffer);
      const attentionMask = new BigInt64Array(Uint8Array.from(atob(data.attentionMask), (character) => character.charCodeAt(0)).buffer);
      return window.bareLoop!.call({ kind: 'load', modelBytes, inputIds, attentionMask, dims: data.dims }, [modelBytes.buffer, inputIds.buffer, attentionMask.buffer]);
    }, encoded);
  }

  /** Creates a session with `options`, warms it up, times `timedRuns` runs and releases it. */
  async measure(options: BareSessionOptions, runs: { warmupRuns: number; timedRuns: number; returnOutput: boolean }): Promise<BareResult> {
    const request: BareRequest = { kind: 'measure', options, ...runs };
    const measured = await this.page.evaluate(async (value) => {
      const result = (await window.bareLoop!.call(value, [])) as BareMeasurement;
      let outputBase64: string | null = null;
      if (result.output) {
        const bytes = new Uint8Array(result.output.buffer, result.output.byteOffset, result.output.byteLength);
        const parts: string[] = [];
        for (let offset = 0; offset < bytes.length; offset += 0x8000) parts.push(String.fromCharCode(...bytes.subarray(offset, offset + 0x8000)));
        outputBase64 = btoa(parts.join(''));
      }
      return { durationsMs: result.durationsMs, peakBytes: result.peakBytes, liveBytesAfterRuns: result.liveBytesAfterRuns, outputBase64 };
    }, request);
    let output: Float32Array | null = null;
    if (measured.outputBase64 !== null) {
      const bytes = Buffer.from(measured.outputBase64, 'base64');
      output = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    }
    return {
      durationsMs: measured.durationsMs,
      medianMs: median(measured.durationsMs),
      peakBytes: measured.peakBytes,
      liveBytesAfterRuns: measured.liveBytesAfterRuns,
      output,
    };
  }
}

/** Returns the largest absolute difference between two outputs of the same shape. */
export function maxAbsDifference(actual: Float32Array, expected: Float32Array): number {
  if (actual.length !== expected.length) throw new RangeError(`Cannot compare outputs of ${actual.length} and ${expected.length} values: the shapes differ.`);
  let max = 0;
  for (let i = 0; i < actual.length; i += 1) max = Math.max(max, Math.abs(actual[i] - expected[i]));
  return max;
}

/** The app's page in headless Chromium, served from the build folder, with the profiler hook ready. */
export interface BenchPage {
  page: Page;
  appUrl: string;
  close(): Promise<void>;
}

/** Builds the app when stale, serves it on an ephemeral port, opens it in Chromium and waits for `window.batchProfiler`. */
export async function openBenchPage(): Promise<BenchPage> {
  if (buildIsStale()) await buildApp();
  const { server, url } = await serveApp();
  const browser = await launchChromium();
  const close = async (): Promise<void> => {
    await browser.close();
    await server.close();
  };
  try {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction(() => window.batchProfiler?.snapshot().inputCount !== null);
    return { page, appUrl: url, close };
  } catch (error) {
    await close();
    throw error;
  }
}
