import { expect, test } from '@playwright/test';
import type { ProfileResult } from '../../src/report/result';
import { SHORT_SYNTHETIC, configure, openProfiler } from './helpers';

const ONE_POINT = { unit: 'sequences' as const, min: 4, max: 4, step: 1, warmupRuns: 1, minRuns: 1, maxRuns: 1, maxTimePerPointMs: 0 };

test('ten sessions leave no GPU buffers behind', async ({ page }) => {
  await openProfiler(page);
  await configure(page, { modelId: 'esm2_tiny', backend: 'webgpu', synthetic: SHORT_SYNTHETIC, sweep: ONE_POINT, strategy: 'linear', gpuBudget: '' });
  const live = () => page.evaluate(() => window.batchProfiler!.liveGpuBytes());

  const weightBytes: number[] = [];
  const liveAfterRun: number[] = [];
  for (let round = 0; round < 10; round += 1) {
    // Each run creates a session (the weights), runs it and keeps it; releasing it must free everything.
    const result: ProfileResult = await page.evaluate(() => window.batchProfiler!.run());
    expect(result.points[0].status).toBe('ok');
    weightBytes.push(result.points[0].weightBytes!);
    liveAfterRun.push((await live())!);
    await page.evaluate(() => window.batchProfiler!.releaseModel());
    expect(await live()).toBe(0);
  }
  expect(new Set(weightBytes).size).toBe(1);
  expect(weightBytes[0]).toBeGreaterThan(0);
  // ORT keeps a few small buffers after a run (lazyRelease frees the activations), the same each round.
  expect(new Set(liveAfterRun).size).toBe(1);
  expect(liveAfterRun[0]).toBeGreaterThanOrEqual(weightBytes[0]);
  expect(liveAfterRun[0] - weightBytes[0]).toBeLessThan(64 * 1024);
});

test('points split weights from run-time buffers', async ({ page }) => {
  await openProfiler(page);
  await configure(page, { modelId: 'esm2_tiny', backend: 'webgpu', synthetic: SHORT_SYNTHETIC, sweep: { ...ONE_POINT, min: 2, max: 8, step: 6 }, strategy: 'linear', gpuBudget: '' });

  const result: ProfileResult = await page.evaluate(() => window.batchProfiler!.run());

  expect(result.sweep.storageBufferCacheMode).toBe('lazyRelease');
  expect(result.sweep.sessionOptions).toEqual({ graphOptimizationLevel: 'all', preferredOutputLocation: 'cpu', storageBufferCacheMode: 'lazyRelease' });
  const [small, large] = result.points;
  expect(small.weightBytes).toBe(large.weightBytes);
  expect(small.runtimePeakBytes).toBe(small.peakBytes! - small.weightBytes!);
  expect(large.runtimePeakBytes!).toBeGreaterThan(small.runtimePeakBytes!);
});

test.describe('buffer limit prediction', () => {
  // esm2_tiny has 4 heads: at padded length 1024, each sequence adds 4 × 1024² × 4 bytes = 16 MiB of
  // attention scores, so 16 sequences fit a 256 MiB maxBufferSize exactly and 17 do not.
  const LONG_SEQUENCES = { seed: 3, count: 20, minLength: 1022, maxLength: 1022 };
  const AT = (batchSize: number) => ({ unit: 'sequences' as const, min: batchSize, max: batchSize, step: 1, warmupRuns: 0, minRuns: 1, maxRuns: 1, maxTimePerPointMs: 0 });

  test('predicted limit matches real failures', async ({ page }) => {
    test.setTimeout(900_000);
    await openProfiler(page);
    await configure(page, { modelId: 'esm2_tiny', backend: 'webgpu', synthetic: LONG_SEQUENCES, strategy: 'linear', gpuBudget: '', maxBufferSizeCap: 256 * 2 ** 20 });
    const run = (): Promise<ProfileResult> => page.evaluate(() => window.batchProfiler!.run());

    // Predicted over the limit: reported without running.
    await configure(page, { sweep: AT(17), predictLimits: true });
    const predicted = await run();
    expect(predicted.environment.limits.maxBufferSize).toBe(256 * 2 ** 20);
    expect(predicted.points[0].status).toBe('buffer-limit');
    expect(predicted.points[0].runs).toBe(0);
    expect(predicted.points[0].message).toContain('Not run');
    expect(predicted.points[0].message).toContain('attention scores tensor [17, 4, 1024, 1024]');
    expect(predicted.points[0].message).toContain('maxBufferSize');

    // The same batch run anyway really fails on the device.
    await configure(page, { predictLimits: false });
    const real = await run();
    expect(real.points[0].status).toBe('buffer-limit');
    expect(real.points[0].message).toMatch(/exceeds the max buffer size limit|maxBufferSize/);

    // Just below the predicted limit, the batch runs.
    await configure(page, { sweep: AT(16), predictLimits: true });
    const below = await run();
    expect(below.points[0].status).toBe('ok');
  });
});

test('recommendation checks the worst case and confirms it', async ({ page }) => {
  await openProfiler(page);
  await configure(page, {
    modelId: 'esm2_tiny',
    backend: 'webgpu',
    synthetic: SHORT_SYNTHETIC,
    sweep: { ...ONE_POINT, min: 2, max: 10, step: 2 },
    strategy: 'linear',
    gpuBudget: '',
    confirmRecommendation: true,
  });

  const result: ProfileResult = await page.evaluate(() => window.batchProfiler!.run());

  expect(result.recommendation.recommendedBatchSize).toBe(8);
  const worstCase = result.recommendation.worstCase!;
  expect(worstCase.sequences).toBe(8);
  // The longest synthetic sequences are 40 residues, 42 tokens with <cls> and <eos>.
  expect(worstCase.paddedLength).toBeLessThanOrEqual(42);
  expect(worstCase.predictedPeakBytes).toBeGreaterThan(0);
  expect(worstCase.withinBufferLimit).toBe(true);
  expect(worstCase.status).toBe('ok');
  expect(result.recommendation.confirmation?.status).toBe('ok');
  expect(result.recommendation.confirmation?.paddedTokens).toBe(8 * worstCase.paddedLength);
  await expect(page.getByTestId('worst-case')).toContainText('confirmation run');
});

test('capacity estimate finds the budget and frees everything', async ({ page }) => {
  await openProfiler(page);
  await configure(page, { modelId: 'esm2_tiny', backend: 'webgpu', synthetic: SHORT_SYNTHETIC, sweep: ONE_POINT, strategy: 'linear', gpuBudget: '600MiB' });

  const capacity = await page.evaluate(() => window.batchProfiler!.estimateCapacity('1GiB'));

  expect(capacity.stoppedBy).toBe('out-of-memory');
  expect(capacity.allocatedBytes).toBe(512 * 2 ** 20);
  expect(capacity.capBytes).toBe(2 ** 30);
  expect(await page.evaluate(() => window.batchProfiler!.liveGpuBytes())).toBe(0);
  await expect(page.getByTestId('capacity-result')).toContainText('512 MiB');

  // The next result records the estimate.
  const result: ProfileResult = await page.evaluate(() => window.batchProfiler!.run());
  expect(result.environment.capacity?.allocatedBytes).toBe(512 * 2 ** 20);
  expect(result.points[0].status).toBe('ok');
});
