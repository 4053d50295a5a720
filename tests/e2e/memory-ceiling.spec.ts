import { expect, test } from '@playwright/test';
import type { ProfileResult } from '../../src/report/result';
import { SHORT_SYNTHETIC, configure, openProfiler } from './helpers';

const QUICK_SWEEP = { unit: 'sequences' as const, min: 1, max: 12, step: 1, warmupRuns: 1, minRuns: 1, maxRuns: 1, maxTimePerPointMs: 0 };

test('simulated budget stops linear and auto at the same batch size', async ({ page }) => {
  await openProfiler(page);
  await configure(page, { modelId: 'esm2_tiny', backend: 'webgpu', synthetic: SHORT_SYNTHETIC, sweep: QUICK_SWEEP, strategy: 'linear', gpuBudget: '' });
  const unlimited: ProfileResult = await page.evaluate(() => window.batchProfiler!.run());
  const peakAt = (batchSize: number) => unlimited.points.find((point) => point.batchSize === batchSize)!.peakBytes!;
  // A budget between the peaks of 6 and 7 sequences puts the ceiling in the middle of the range.
  const budgetBytes = Math.round((peakAt(6) + peakAt(7)) / 2);

  await configure(page, { strategy: 'linear', gpuBudget: String(budgetBytes) });
  const linear: ProfileResult = await page.evaluate(() => window.batchProfiler!.run());
  await configure(page, { strategy: 'auto' });
  const auto: ProfileResult = await page.evaluate(() => window.batchProfiler!.run());

  expect(linear.recommendation.maxBatchSize).toBe(6);
  expect(linear.points.find((point) => point.batchSize === 7)?.status).toBe('oom');
  expect(linear.sweep.gpuBudgetBytes).toBe(budgetBytes);
  expect(auto.recommendation.maxBatchSize).toBe(6);
  expect(auto.sweep.search?.strategy).toBe('auto');
  expect(auto.sweep.search!.probes).toBeLessThan(linear.sweep.search!.probes);
  await expect(page.locator('[data-testid="results-table"] tbody tr[data-status="oom"]')).toHaveCount(1);
});

test('sweep recovers from a lost device and keeps earlier points', async ({ page }) => {
  await openProfiler(page);
  await configure(page, { modelId: 'esm2_tiny', backend: 'webgpu', synthetic: SHORT_SYNTHETIC, sweep: { ...QUICK_SWEEP, max: 6 }, strategy: 'linear', gpuBudget: '' });
  const run = page.evaluate(() => window.batchProfiler!.run());
  await page.waitForFunction(() => window.batchProfiler!.snapshot().pointCount >= 2, undefined, { timeout: 120_000 });

  await page.evaluate(() => window.batchProfiler!.loseDevice());
  const result: ProfileResult = await run;

  expect(result.points.map((point) => point.batchSize)).toEqual([1, 2, 3, 4, 5, 6]);
  expect(result.points.every((point) => point.status === 'ok')).toBe(true);
  expect(result.recommendation.maxBatchSize).toBe(6);
});
