/**
 * Benchmark of the search strategies on real runs: esm2_tiny in Chromium's WebGPU under a simulated
 * GPU budget that puts the ceiling in the middle of the default token range (512 to 8192 step 512).
 * It first sweeps without a budget to read the peak bytes of each size. The budget then lies halfway
 * between the peaks of the middle two sizes. Linear, power-bisect and auto run under it, and the
 * probes and wall time of each print as ratios to linear, measured in the same process.
 *
 * Run: npx tsx bench/search-browser.ts   (several minutes on a software adapter)
 */
import type { ProfileResult } from '../src/report/result';
import { launchChromium } from '../src/cli/browser';
import { buildApp, buildIsStale, serveApp } from '../src/cli/server';

const SWEEP = { unit: 'tokens' as const, min: 512, max: 8192, step: 512, warmupRuns: 1, minRuns: 1, maxRuns: 1, maxTimePerPointMs: 0 };

if (buildIsStale()) await buildApp();
const { server, url } = await serveApp();
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForFunction(() => window.batchProfiler?.snapshot().inputCount !== null);
  await page.evaluate((sweep) => window.batchProfiler!.configure({ modelId: 'esm2_tiny', backend: 'webgpu', sweep, strategy: 'linear', gpuBudget: '' }), SWEEP);

  const run = (): Promise<ProfileResult> => page.evaluate(() => window.batchProfiler!.run());
  const unlimited = await run();
  const middle = Math.floor(unlimited.points.length / 2);
  const budgetBytes = Math.round((unlimited.points[middle - 1].peakBytes! + unlimited.points[middle].peakBytes!) / 2);
  console.log(`Budget ${budgetBytes} bytes, between the peaks of ${unlimited.points[middle - 1].batchSize} and ${unlimited.points[middle].batchSize} tokens.`);

  const rows: { strategy: string; probes: number; elapsedMs: number; max: number | null }[] = [];
  for (const strategy of ['linear', 'power-bisect', 'auto'] as const) {
    await page.evaluate((settings) => window.batchProfiler!.configure(settings), { strategy, gpuBudget: String(budgetBytes) });
    const result = await run();
    rows.push({ strategy, probes: result.sweep.search!.probes, elapsedMs: result.sweep.search!.elapsedMs, max: result.recommendation.maxBatchSize });
  }

  const linear = rows[0];
  console.log('strategy       probes  time ms   probes/linear  time/linear  max batch (tokens)');
  for (const row of rows) {
    console.log(
      `${row.strategy.padEnd(14)} ${String(row.probes).padStart(6)}  ${row.elapsedMs.toFixed(0).padStart(7)}   ${(row.probes / linear.probes).toFixed(2).padStart(13)}  ${(row.elapsedMs / linear.elapsedMs).toFixed(2).padStart(11)}  ${row.max}`,
    );
  }
} finally {
  await browser.close();
  await server.close();
}
