import { expect, test } from '@playwright/test';
import { SHORT_SYNTHETIC, configure, openProfiler } from './helpers';

/**
 * Tolerance between WebGPU and WASM outputs of esm2_tiny (float32 both). Kernels differ in summation
 * order and in erf/exp implementations; 1e-3 absolute on LayerNorm-scaled outputs leaves room for that
 * and still catches a wrong mask, rotary or layout, which move values by 0.1 or more.
 */
const MAX_ABS_DIFFERENCE = 1e-3;

test('esm2_tiny outputs on WebGPU agree with WASM', async ({ page }) => {
  await openProfiler(page);
  await configure(page, { modelId: 'esm2_tiny', backend: 'webgpu', synthetic: SHORT_SYNTHETIC });
  const gpuOutput = await page.evaluate(() => window.batchProfiler!.forward(4));
  await configure(page, { backend: 'wasm' });
  const reference = await page.evaluate(() => window.batchProfiler!.forward(4));

  expect(gpuOutput.dims).toEqual(reference.dims);
  expect(gpuOutput.dims[0]).toBe(4);
  expect(gpuOutput.dims[2]).toBe(32);
  expect(gpuOutput.data.every(Number.isFinite)).toBe(true);
  let maxDifference = 0;
  for (let i = 0; i < reference.data.length; i += 1) {
    maxDifference = Math.max(maxDifference, Math.abs(gpuOutput.data[i] - reference.data[i]));
  }
  expect(maxDifference).toBeLessThan(MAX_ABS_DIFFERENCE);
});

test('WebGPU backend reports a real WebGPU adapter', async ({ page }) => {
  await openProfiler(page);
  const adapter = await page.evaluate(async () => {
    const gpuAdapter = await navigator.gpu.requestAdapter();
    return gpuAdapter ? { vendor: gpuAdapter.info.vendor, architecture: gpuAdapter.info.architecture } : null;
  });
  expect(adapter).not.toBeNull();
  expect(adapter?.architecture).toBeTruthy();
});
