/**
 * Repeatability of the profiler's throughput: three identical esm2_tiny sweeps on WebGPU in one page,
 * with the default measurement rules (warm-up, timing until a 2% relative standard error of the median
 * or the 2 s cap). It prints each sweep's tokens/s per batch size, the median over the sweep, and the
 * spread between the three sweeps as (max − min) / min, per batch size and for the sweep medians.
 *
 * Run: npx tsx bench/repeatability.ts [--backend webgpu|wasm]   (a few minutes on a software adapter)
 */
import type { ProfileResult } from '../src/report/result';
import { launchChromium } from '../src/cli/browser';
import { buildApp, buildIsStale, serveApp } from '../src/cli/server';
import { median } from '../src/profiling/stats';

const SWEEPS = 3;
const backend = process.argv.includes('--backend') ? (process.argv[process.argv.indexOf('--backend') + 1] as 'webgpu' | 'wasm') : 'webgpu';
if (backend !== 'webgpu' && backend !== 'wasm') throw new Error(`Invalid --backend ${String(backend)}: expected webgpu or wasm.`);
const SYNTHETIC = { seed: 11, count: 64, minLength: 60, maxLength: 120 };
const SWEEP = { unit: 'sequences' as const, min: 4, max: 16, step: 4, warmupRuns: 1, minRuns: 3, maxRuns: 50, maxTimePerPointMs: 2000, targetRelativeError: 0.02 };

if (buildIsStale()) await buildApp();
const { server, url } = await serveApp();
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForFunction(() => window.batchProfiler?.snapshot().inputCount !== null);
  await page.evaluate(
    (settings) => window.batchProfiler!.configure(settings),
    { modelId: 'esm2_tiny', backend, synthetic: SYNTHETIC, sweep: SWEEP, strategy: 'linear' as const, gpuBudget: '' },
  );

  // One sweep first, not counted: a fresh page runs its first minute with cold JIT caches in V8 and SwiftShader.
  const warmup = await page.evaluate(() => window.batchProfiler!.run());
  console.log(`warm-up sweep (not counted): median ${median(warmup.points.map((point) => point.tokensPerSecond ?? NaN)).toFixed(0)} tok/s`);
  const results: ProfileResult[] = [];
  for (let sweep = 0; sweep < SWEEPS; sweep += 1) {
    const started = Date.now();
    results.push(await page.evaluate(() => window.batchProfiler!.run()));
    console.log(`sweep ${sweep + 1}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }

  const batchSizes = results[0].points.map((point) => point.batchSize);
  const throughput = (result: ProfileResult, batchSize: number) => result.points.find((point) => point.batchSize === batchSize)?.tokensPerSecond ?? NaN;
  const spread = (values: number[]) => (Math.max(...values) - Math.min(...values)) / Math.min(...values);

  const adapter = results[0].environment.adapter;
  console.log(`backend ${backend}${adapter ? `, adapter ${adapter.vendor} ${adapter.architecture}` : ''}`);
  console.log(`batch   ${results.map((_, i) => `sweep ${i + 1} tok/s`.padStart(15)).join(' ')}   spread   CV of runs`);
  for (const batchSize of batchSizes) {
    const values = results.map((result) => throughput(result, batchSize));
    const cvs = results.map((result) => result.points.find((point) => point.batchSize === batchSize)?.coefficientOfVariation ?? NaN);
    console.log(
      `${String(batchSize).padStart(5)}   ${values.map((value) => value.toFixed(0).padStart(15)).join(' ')}   ${(100 * spread(values)).toFixed(2).padStart(5)}%   ${cvs.map((cv) => `${(100 * cv).toFixed(1)}%`).join(' ')}`,
    );
  }
  const sweepMedians = results.map((result) => median(result.points.map((point) => point.tokensPerSecond ?? NaN)));
  console.log(`median  ${sweepMedians.map((value) => value.toFixed(0).padStart(15)).join(' ')}   ${(100 * spread(sweepMedians)).toFixed(2).padStart(5)}%`);
  console.log(`Sweep medians within 3% of each other: ${spread(sweepMedians) <= 0.03 ? 'yes' : 'no'}`);
} finally {
  await browser.close();
  await server.close();
}
