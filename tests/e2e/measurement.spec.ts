import { expect, test } from '@playwright/test';
import type { ProfileResult } from '../../src/report/result';
import { SHORT_SYNTHETIC, configure, openProfiler } from './helpers';

const QUICK = { unit: 'sequences' as const, min: 2, max: 4, step: 2, warmupRuns: 1, minRuns: 2, maxRuns: 3, maxTimePerPointMs: 0 };

test('WebGPU points report efficiency against the matmul peak', async ({ page }) => {
  await openProfiler(page);
  await configure(page, { modelId: 'esm2_tiny', backend: 'webgpu', synthetic: SHORT_SYNTHETIC, sweep: QUICK, strategy: 'linear', gpuBudget: '', captureKernelTimes: true });

  const result: ProfileResult = await page.evaluate(() => window.batchProfiler!.run());

  const peak = result.environment.matmulPeak!;
  expect(peak.flopsPerSecond).toBeGreaterThan(0);
  expect(peak.timing).toBe('timestamp-query');
  for (const point of result.points) {
    expect(point.paddedFlopsPerSecond).toBeGreaterThan(0);
    expect(point.peakFlopsFraction).toBeCloseTo(point.paddedFlopsPerSecond! / peak.flopsPerSecond, 9);
  }

  // Kernel times land on the recommended point (80% of 4 is 3.2, rounded down to the step: 2).
  const profiled = result.points.find((point) => point.kernelTimes)!;
  expect(profiled.batchSize).toBe(2);
  const kernelTimes = profiled.kernelTimes!;
  expect(kernelTimes.totalGpuMs).toBeGreaterThan(0);
  expect(kernelTimes.byOpType.map((row) => row.opType)).toContain('MatMul');
  const shareSum = kernelTimes.byOpType.reduce((total, row) => total + row.share, 0);
  expect(shareSum).toBeCloseTo(1, 6);
  await expect(page.getByTestId('kernel-times-chart')).toBeVisible();
});

test('fp16 is disabled without shader-f16', async ({ page }) => {
  await openProfiler(page);
  await configure(page, { modelId: 'esm2_tiny', backend: 'webgpu' });
  // The environment is read when the page opens; SwiftShader has no shader-f16.
  await expect(page.getByTestId('fp16-reason')).toContainText('shader-f16');
  await expect(page.getByTestId('precision-select').locator('option[value="float16"]')).toBeDisabled();

  await configure(page, { precision: 'both' });
  const error = await page.evaluate(() => window.batchProfiler!.run().then(() => null, (reason: Error) => reason.message));
  expect(error).toContain('shader-f16');
});

test('both precisions on WASM report the fp16 drift', async ({ page }) => {
  await openProfiler(page);
  await configure(page, { modelId: 'esm2_tiny', backend: 'wasm', synthetic: SHORT_SYNTHETIC, sweep: QUICK, strategy: 'linear', gpuBudget: '', precision: 'both' });

  const result: ProfileResult = await page.evaluate(() => window.batchProfiler!.run());

  expect(result.model.dtype).toBe('float32');
  const fp16 = result.companions!.find((companion) => companion.model.dtype === 'float16')!;
  expect(fp16.points.map((point) => point.status)).toEqual(['ok', 'ok']);
  expect(fp16.drift!.sequences).toBe(8);
  expect(fp16.drift!.cosineSimilarity).toBeGreaterThan(0.999);
  expect(fp16.drift!.maxAbsDifference).toBeGreaterThan(0);
  expect(fp16.drift!.maxAbsDifference).toBeLessThan(0.05);
  await expect(page.getByTestId('precision-drift')).toContainText('fp16 drift from fp32');
});
