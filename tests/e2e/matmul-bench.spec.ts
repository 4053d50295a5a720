/**
 * The matmul microbenchmark and the kernel-time capture on Chromium's WebGPU (SwiftShader here). Neither
 * module is in the app bundle yet, so esbuild bundles each into a script that the test injects into the
 * built app's page, which is a secure context with navigator.gpu.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test, type ConsoleMessage, type Page } from '@playwright/test';
import { build } from 'esbuild';
import type * as Ort from 'onnxruntime-web';
import type * as MatmulBench from '../../src/gpu/matmulBench';
import type * as KernelTimes from '../../src/profiling/kernelTimes';
import { countModelRuns, extractTraceEvents, summarizeKernelTimes } from '../../src/profiling/kernelTimes';
import { OnnxGraphBuilder, attr } from '../../src/models/onnxBuilder';

/** Counts of the GPU objects a device created and has not destroyed yet. */
interface LiveObjectCounts {
  createdBuffers: number;
  liveBuffers: number;
  createdQuerySets: number;
  liveQuerySets: number;
}

type BenchHarness = typeof MatmulBench & {
  /** Requests a device, with `timestamp-query` when `timestamps` is true and the adapter has it. */
  requestTestDevice: (timestamps: boolean) => Promise<GPUDevice>;
  /** Wraps the device's createBuffer and createQuerySet, and the destroy methods, to count live objects. */
  countLiveObjects: (device: GPUDevice) => () => LiveObjectCounts;
};

type ProfilingHarness = typeof KernelTimes & { ort: typeof Ort };

declare global {
  interface Window {
    matmulBenchHarness?: BenchHarness;
    profilingHarness?: ProfilingHarness;
  }
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const BENCH_ENTRY = `
import * as bench from './src/gpu/matmulBench';

async function requestTestDevice(timestamps) {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('WebGPU returned no adapter in this Chromium.');
  const requiredFeatures = timestamps && adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
  return adapter.requestDevice({ requiredFeatures });
}

function countLiveObjects(device) {
  const buffers = new Set();
  const querySets = new Set();
  let createdBuffers = 0;
  let createdQuerySets = 0;
  const createBuffer = device.createBuffer.bind(device);
  device.createBuffer = (descriptor) => {
    const buffer = createBuffer(descriptor);
    buffers.add(buffer);
    createdBuffers += 1;
    return buffer;
  };
  const createQuerySet = device.createQuerySet.bind(device);
  device.createQuerySet = (descriptor) => {
    const querySet = createQuerySet(descriptor);
    querySets.add(querySet);
    createdQuerySets += 1;
    return querySet;
  };
  const destroyBuffer = GPUBuffer.prototype.destroy;
  GPUBuffer.prototype.destroy = function () {
    buffers.delete(this);
    return destroyBuffer.call(this);
  };
  const destroyQuerySet = GPUQuerySet.prototype.destroy;
  GPUQuerySet.prototype.destroy = function () {
    querySets.delete(this);
    return destroyQuerySet.call(this);
  };
  return () => ({ createdBuffers, liveBuffers: buffers.size, createdQuerySets, liveQuerySets: querySets.size });
}

window.matmulBenchHarness = { ...bench, requestTestDevice, countLiveObjects };
`;

const PROFILING_ENTRY = `
import * as ort from 'onnxruntime-web/webgpu';
import * as kernelTimes from './src/profiling/kernelTimes';

window.profilingHarness = { ...kernelTimes, ort };
`;

async function bundle(contents: string, sourcefile: string, format: 'iife' | 'esm'): Promise<string> {
  const result = await build({
    stdin: { contents, resolveDir: repoRoot, loader: 'ts', sourcefile },
    bundle: true,
    write: false,
    format,
    target: 'es2022',
    // The same condition as the Vite config: the wasm runtime comes from wasmPaths, not from the bundle.
    conditions: ['onnxruntime-web-use-extern-wasm'],
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

let benchScript = '';
let profilingScript = '';

test.beforeAll(async () => {
  benchScript = await bundle(BENCH_ENTRY, 'matmul-bench-harness.ts', 'iife');
  profilingScript = await bundle(PROFILING_ENTRY, 'profiling-harness.ts', 'esm');
});

async function openBenchHarness(page: Page): Promise<void> {
  await page.goto('/');
  await page.addScriptTag({ content: benchScript });
  await page.waitForFunction(() => window.matmulBenchHarness !== undefined);
}

test.describe('measureMatmulPeak', () => {
  test('measureMatmulPeak times the default size', async ({ page }) => {
    await openBenchHarness(page);

    const outcome = await page.evaluate(async () => {
      const harness = window.matmulBenchHarness!;
      const device = await harness.requestTestDevice(true);
      const liveObjects = harness.countLiveObjects(device);
      const gpuErrors: string[] = [];
      device.addEventListener('uncapturederror', (event) => gpuErrors.push((event as GPUUncapturedErrorEvent).error.message));
      try {
        const timestamped = await harness.measureMatmulPeak(device);
        const wallClock = await harness.measureMatmulPeak(device, { useTimestamps: false, repeats: 3 });
        return { hasTimestamps: device.features.has('timestamp-query'), timestamped, wallClock, counts: liveObjects(), gpuErrors };
      } finally {
        device.destroy();
      }
    });
    const { timestamped, wallClock } = outcome;
    test.info().annotations.push({
      type: 'measured',
      description: `n=256: ${(timestamped.flopsPerSecond / 1e9).toFixed(3)} GFLOP/s (${timestamped.timing}, median ${timestamped.medianMs.toFixed(1)} ms), ${(wallClock.flopsPerSecond / 1e9).toFixed(3)} GFLOP/s (wall-clock)`,
    });

    expect(timestamped.timing).toBe(outcome.hasTimestamps ? 'timestamp-query' : 'wall-clock');
    expect(timestamped.size).toBe(256);
    expect(timestamped.flops).toBe(2 * 256 ** 3);
    expect(timestamped.runs).toBe(5);
    expect(timestamped.durationsMs).toHaveLength(5);
    expect(timestamped.medianMs).toBeGreaterThan(0);
    expect(Number.isFinite(timestamped.flopsPerSecond)).toBe(true);
    expect(timestamped.flopsPerSecond).toBeGreaterThan(0);
    expect(timestamped.flopsPerSecond).toBeCloseTo(timestamped.flops / (timestamped.medianMs / 1000), 0);
    expect(timestamped.shader).toContain('16×16 fp32');
    expect(timestamped.verifiedElements).toBeGreaterThanOrEqual(5);
    expect(timestamped.maxRelativeError).toBeLessThanOrEqual(1e-3);

    expect(wallClock.timing).toBe('wall-clock');
    expect(wallClock.runs).toBe(3);
    expect(Number.isFinite(wallClock.flopsPerSecond)).toBe(true);
    expect(wallClock.flopsPerSecond).toBeGreaterThan(0);
    expect(wallClock.verifiedElements).toBeGreaterThanOrEqual(5);

    expect(outcome.counts.createdBuffers).toBeGreaterThan(0);
    expect(outcome.counts.liveBuffers).toBe(0);
    expect(outcome.counts.createdQuerySets).toBe(outcome.hasTimestamps ? 1 : 0);
    expect(outcome.counts.liveQuerySets).toBe(0);
    expect(outcome.gpuErrors).toEqual([]);
  });

  test('measureMatmulPeak handles sizes off the tile grid', async ({ page }) => {
    await openBenchHarness(page);

    const peaks = await page.evaluate(async () => {
      const harness = window.matmulBenchHarness!;
      const device = await harness.requestTestDevice(true);
      try {
        const results = [];
        for (const size of [1, 17, 50]) results.push(await harness.measureMatmulPeak(device, { size, repeats: 1, useTimestamps: false }));
        return results;
      } finally {
        device.destroy();
      }
    });

    expect(peaks.map((peak) => peak.size)).toEqual([1, 17, 50]);
    for (const peak of peaks) {
      expect(peak.maxRelativeError).toBeLessThanOrEqual(1e-3);
      expect(peak.flopsPerSecond).toBeGreaterThan(0);
    }
  });

  test('measureMatmulPeak rejects a wrong result and frees its buffers', async ({ page }) => {
    await openBenchHarness(page);

    const outcome = await page.evaluate(async () => {
      const harness = window.matmulBenchHarness!;
      const device = await harness.requestTestDevice(true);
      const liveObjects = harness.countLiveObjects(device);
      // Adds 1 to every element of the first matrix on its way to the GPU, while the CPU reference
      // keeps the original values, so the GPU result cannot match.
      const writeBuffer = device.queue.writeBuffer.bind(device.queue);
      let matrixWrites = 0;
      device.queue.writeBuffer = ((buffer: GPUBuffer, offset: number, data: Float32Array<ArrayBuffer>) => {
        if (data instanceof Float32Array && data.length === 64 * 64 && matrixWrites++ === 0) {
          return writeBuffer(buffer, offset, data.map((value) => value + 1));
        }
        return writeBuffer(buffer, offset, data);
      }) as GPUQueue['writeBuffer'];
      try {
        await harness.measureMatmulPeak(device, { size: 64, repeats: 2 });
        return { error: null, counts: liveObjects() };
      } catch (error) {
        const failure = error as Error & { details?: { row: number; column: number } };
        return { error: { name: failure.name, message: failure.message, details: failure.details }, counts: liveObjects() };
      } finally {
        device.destroy();
      }
    });

    expect(outcome.error?.name).toBe('MatmulMismatchError');
    expect(outcome.error?.message).toMatch(/C\[\d+\]\[\d+\] is .* on the GPU, but .* on the CPU/);
    expect(outcome.error?.details).toEqual({ row: 0, column: 0, gpuValue: expect.any(Number), expectedValue: expect.any(Number), relativeError: expect.any(Number) });
    expect(outcome.counts.createdBuffers).toBeGreaterThan(0);
    expect(outcome.counts.liveBuffers).toBe(0);
  });

  test('measureMatmulPeak rejects invalid options', async ({ page }) => {
    await openBenchHarness(page);

    const failures = await page.evaluate(async () => {
      const harness = window.matmulBenchHarness!;
      const device = await harness.requestTestDevice(false);
      const cases = [{ size: 0 }, { size: 4097 }, { size: 1.5 }, { repeats: 0 }, { repeats: 2049 }, { useTimestamps: true }];
      const results: Array<{ name: string; message: string }> = [];
      try {
        for (const options of cases) {
          try {
            await harness.measureMatmulPeak(device, options);
            results.push({ name: 'none', message: `resolved for ${JSON.stringify(options)}` });
          } catch (error) {
            results.push({ name: (error as Error).name, message: (error as Error).message });
          }
        }
        return results;
      } finally {
        device.destroy();
      }
    });

    expect(failures[0]).toEqual({ name: 'RangeError', message: 'Invalid matmul size 0: expected an integer from 1 to 4096.' });
    expect(failures[1].message).toBe('Invalid matmul size 4097: expected an integer from 1 to 4096.');
    expect(failures[2].message).toBe('Invalid matmul size 1.5: expected an integer from 1 to 4096.');
    expect(failures[3]).toEqual({ name: 'RangeError', message: 'Invalid matmul repeats 0: expected an integer from 1 to 2048.' });
    expect(failures[4].message).toBe('Invalid matmul repeats 2049: expected an integer from 1 to 2048.');
    expect(failures[5].name).toBe('Error');
    expect(failures[5].message).toContain('no timestamp-query feature');
  });
});

/**
 * Builds a graph with three GPU operator types, MatMul, Softmax and Add, on a [4, 64] input. The node names
 * follow the layout of exported transformer graphs. Add comes after Softmax because onnxruntime fuses
 * a MatMul followed by a bias Add into one Gemm kernel.
 */
function buildProfilingModel(): Uint8Array {
  const builder = new OnnxGraphBuilder();
  const input = builder.addInput('x', 'float32', [4, 64]);
  const weight = builder.addFloat32Initializer('weight', [64, 64], (values) => values.forEach((_, index) => (values[index] = ((index % 13) - 6) / 64)));
  const bias = builder.addFloat32Initializer('bias', [64], (values) => values.fill(0.01));
  const product = builder.op('MatMul', [input, weight], {}, '/layers.0/attn/MatMul');
  const normalized = builder.op('Softmax', [product], { axis: attr.int(-1) }, '/layers.0/attn/Softmax');
  builder.op('Add', [normalized, bias], {}, 'probabilities');
  builder.addOutput('probabilities', 'float32', [4, 64]);
  return builder.build({ graphName: 'profiling_probe' }).modelBytes;
}

const PROFILED_RUNS = 3;

/** Opens the page with onnxruntime-web and the kernel-time module loaded, and collects its console output. */
async function openProfilingHarness(page: Page): Promise<string[]> {
  const consoleLines: string[] = [];
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() === 'log') consoleLines.push(message.text());
  });
  await page.goto('/');
  await page.addScriptTag({ content: profilingScript, type: 'module' });
  await page.waitForFunction(() => window.profilingHarness !== undefined);
  return consoleLines;
}

/** Creates a profiled session on a device with timestamp-query, runs it, and captures endProfiling's output. */
async function profileInPage(page: Page, options: { installTap: boolean }) {
  const modelBytes = [...buildProfilingModel()];
  return page.evaluate(
    async ({ modelBytes, runs, installTap }) => {
      const harness = window.profilingHarness!;
      const { ort } = harness;
      if (installTap) harness.installConsoleLogTap();
      ort.env.wasm.wasmPaths = new URL('/ort/', location.origin).href;
      ort.env.wasm.numThreads = 1;
      ort.env.logLevel = 'error';

      const adapter = await navigator.gpu.requestAdapter();
      if (!adapter) throw new Error('WebGPU returned no adapter in this Chromium.');
      const device = await adapter.requestDevice({ requiredFeatures: ['timestamp-query'] });
      const session = await ort.InferenceSession.create(new Uint8Array(modelBytes), {
        executionProviders: [{ name: 'webgpu', device } as Ort.InferenceSession.WebGpuExecutionProviderOption],
        enableProfiling: true,
      });
      const input = new ort.Tensor('float32', Float32Array.from({ length: 4 * 64 }, (_, index) => (index % 7) / 7), [4, 64]);
      for (let run = 0; run < runs; run += 1) await session.run({ x: input });
      const { lines } = await harness.captureConsoleDuring(() => session.endProfiling());
      await session.release();
      device.destroy();
      return { lines };
    },
    { modelBytes, runs: PROFILED_RUNS, installTap: options.installTap },
  );
}

test.describe('onnxruntime-web kernel times', () => {
  test('captureConsoleDuring collects the profiling trace with the tap', async ({ page }) => {
    const browserConsole = await openProfilingHarness(page);

    const { lines } = await profileInPage(page, { installTap: true });
    const events = extractTraceEvents(lines);
    const summary = summarizeKernelTimes(events, countModelRuns(events));
    test.info().annotations.push({ type: 'trace', description: `${lines.length} lines; first: ${lines.slice(0, 2).join(' | ')}` });

    expect(lines[0], 'Emscripten prints the trace one line per console.log call').toBe('[');
    expect(lines.at(-1)).toBe(']');
    expect(browserConsole.filter((line) => line.includes('"cat" : "Api"')), 'the tap keeps the trace out of the console').toEqual([]);
    expect(countModelRuns(events)).toBe(PROFILED_RUNS);
    expect(summary.byOpType.map((entry) => entry.opType).sort()).toEqual(['Add', 'MatMul', 'Softmax']);
    for (const entry of summary.byOpType) expect(entry.kernelCount).toBe(1);
    expect(summary.kernelEventCount).toBe(3 * PROFILED_RUNS);
    expect(summary.totalGpuMs).toBeGreaterThan(0);
    const matmulEvent = events.find((event) => event.cat === 'Api' && event.name.includes('&MatMul&'));
    expect(matmulEvent?.name.startsWith('/layers.0/attn/MatMul&MatMul&')).toBe(true);
  });

  test('captureConsoleDuring misses the trace without the tap', async ({ page }) => {
    const browserConsole = await openProfilingHarness(page);

    const { lines } = await profileInPage(page, { installTap: false });
    const consoleEvents = extractTraceEvents(browserConsole);

    // The wasm module bound console.log when the session was created, before the capture replaced it.
    expect(lines).toEqual([]);
    expect(summarizeKernelTimes(consoleEvents, PROFILED_RUNS).kernelEventCount).toBe(3 * PROFILED_RUNS);
  });
});
