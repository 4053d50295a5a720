/**
 * Worker entry of the bare `session.run` loop that the benchmarks compare the profiler against. It
 * loads onnxruntime-web's WebGPU build, as the profiler's worker does, and times `session.run` plus the
 * read-back of `last_hidden_state`, with none of the profiler's error scopes or output checks.
 * bench/bareSession.ts bundles this file with Vite and starts it in the page; it is not part of the app.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { acquireDevice, type AcquiredDevice } from '../src/gpu/device';
import { GpuMemoryTracker } from '../src/gpu/accounting';
import type { BareMeasurement, BareReady, BareRequest, BareResponse, BareSessionOptions } from './bareSession';

interface WorkerScope {
  crossOriginIsolated: boolean;
  onmessage: ((event: MessageEvent<{ id: number; request: BareRequest }>) => void) | null;
  postMessage(message: BareResponse, transfer?: Transferable[]): void;
}
const scope = self as unknown as WorkerScope;

interface LoadedBatch {
  modelBytes: Uint8Array;
  feeds: Record<string, ort.Tensor>;
}

let backend: 'webgpu' | 'wasm' | null = null;
let gpu: AcquiredDevice | null = null;
let tracker: GpuMemoryTracker | null = null;
let batch: LoadedBatch | null = null;

/** Sets up ORT as src/worker/profiler.worker.ts does and, for WebGPU, acquires the device as the engine does. */
async function initialize(request: Extract<BareRequest, { kind: 'initialize' }>): Promise<BareReady> {
  ort.env.wasm.wasmPaths = request.wasmPaths;
  ort.env.logLevel = 'error';
  ort.env.wasm.numThreads = scope.crossOriginIsolated ? Math.min(4, Math.ceil((navigator.hardwareConcurrency || 1) / 2)) : 1;
  backend = request.backend;
  if (backend === 'webgpu') {
    gpu = await acquireDevice();
    // Counting wraps createBuffer, so the worker installs it only when a benchmark requests peak bytes.
    if (request.countGpuBytes) tracker = new GpuMemoryTracker(gpu.device);
    gpu.device.lost.then((info) => console.error(`The bare-loop GPU device was lost (${info.reason}): ${info.message}`));
  }
  return {
    crossOriginIsolated: scope.crossOriginIsolated,
    wasmThreads: ort.env.wasm.numThreads,
    adapter: gpu ? `${gpu.adapterReport.vendor} ${gpu.adapterReport.architecture}` : null,
  };
}

function createSession(modelBytes: Uint8Array, options: BareSessionOptions): Promise<ort.InferenceSession> {
  const executionProviders: ort.InferenceSession.ExecutionProviderConfig[] =
    backend === 'webgpu'
      ? [{ name: 'webgpu', device: gpu!.device, storageBufferCacheMode: options.storageBufferCacheMode } as ort.InferenceSession.WebGpuExecutionProviderOption]
      : ['wasm'];
  return ort.InferenceSession.create(modelBytes, {
    executionProviders,
    graphOptimizationLevel: options.graphOptimizationLevel,
    preferredOutputLocation: backend === 'webgpu' ? options.preferredOutputLocation : undefined,
    logSeverityLevel: 3,
  });
}

/** Runs once and reads `last_hidden_state` back to the CPU, as the engine's probes do. */
async function runOnce(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const results = await session.run(feeds);
  const output = results.last_hidden_state;
  if (!output) throw new Error(`The model returned no "last_hidden_state"; it returned: ${Object.keys(results).join(', ')}.`);
  // getData() downloads a 'gpu-buffer' output too, so every option pays for the same read-back.
  const data = (await output.getData()) as Float32Array;
  for (const value of Object.values(results)) value.dispose();
  return data;
}

/**
 * Measures the loaded batch with one set of session options.
 * 1. Create the session from the graph bytes.
 * 2. Warm up, then time each run, read-back included.
 * 3. Release the session. The device stays, as it does in the engine.
 */
async function measure(request: Extract<BareRequest, { kind: 'measure' }>): Promise<{ measurement: BareMeasurement; transfer: Transferable[] }> {
  if (!batch) throw new Error('No batch is loaded in the bare-loop worker. Send a "load" request first.');

  // 1. Session.
  const session = await createSession(batch.modelBytes, request.options);

  try {
    // 2. Warm-up and timed runs.
    tracker?.resetPeak();
    for (let i = 0; i < request.warmupRuns; i += 1) await runOnce(session, batch.feeds);
    const durationsMs: number[] = [];
    let output: Float32Array = new Float32Array(0);
    for (let i = 0; i < request.timedRuns; i += 1) {
      const startMs = performance.now();
      output = await runOnce(session, batch.feeds);
      durationsMs.push(performance.now() - startMs);
    }
    // A copy owns its buffer, which can then be transferred whatever the tensor's data was a view of.
    const outputCopy = request.returnOutput ? output.slice() : null;
    const measurement: BareMeasurement = {
      durationsMs,
      peakBytes: tracker ? tracker.peakBytes : null,
      liveBytesAfterRuns: tracker ? tracker.liveBytes : null,
      output: outputCopy,
    };
    return { measurement, transfer: outputCopy ? [outputCopy.buffer] : [] };
  } finally {
    // 3. Release.
    await session.release();
  }
}

async function handle(request: BareRequest): Promise<{ value: unknown; transfer: Transferable[] }> {
  switch (request.kind) {
    case 'initialize':
      return { value: await initialize(request), transfer: [] };
    case 'load':
      batch = {
        modelBytes: request.modelBytes,
        feeds: {
          input_ids: new ort.Tensor('int64', request.inputIds, request.dims),
          attention_mask: new ort.Tensor('int64', request.attentionMask, request.dims),
        },
      };
      return { value: null, transfer: [] };
    case 'measure': {
      const { measurement, transfer } = await measure(request);
      return { value: measurement, transfer };
    }
  }
}

// Requests run one after another, because onnxruntime-web 1.30 throws when two sessions are created
// at once, and overlapping runs would distort each other's timings.
let queue: Promise<void> = Promise.resolve();
scope.onmessage = (event) => {
  const { id, request } = event.data;
  queue = queue.then(() =>
    handle(request).then(
      ({ value, transfer }) => scope.postMessage({ id, ok: true, value }, transfer),
      (error: unknown) => scope.postMessage({ id, ok: false, message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }),
    ),
  );
};
