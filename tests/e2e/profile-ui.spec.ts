import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { validateProfileResult } from '../../src/report/schema';
import { recommendBatchSize } from '../../src/profiling/recommend';
import { SHORT_SYNTHETIC, configure, fillNumber, openProfiler } from './helpers';
import { SAMPLE_RECOMMENDED_BATCH_SIZE, buildSampleResult } from '../unit/fixtures/sampleResult';

test('page loads with the default model and synthetic input', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await openProfiler(page);
  await expect(page.getByRole('heading', { name: 'WebGPU Batch Profiler' })).toBeVisible();
  await expect(page.getByTestId('model-select')).toHaveValue('esm2_t6_8M');
  await expect(page.getByTestId('input-count')).toHaveText('256');
  await expect(page.getByTestId('run-button')).toBeEnabled();
  expect(errors).toEqual([]);
});

test('esm2_tiny sweep on WebGPU through the UI gives table, charts, JSON and permalink', async ({ page, context }) => {
  await openProfiler(page);
  await configure(page, { synthetic: SHORT_SYNTHETIC });

  // Settings through the controls, as a person sets them.
  await page.getByTestId('model-select').selectOption('esm2_tiny');
  await page.getByLabel('WebGPU (GPU)').check();
  await page.getByTestId('unit-select').selectOption('sequences');
  await fillNumber(page, 'sweep-min', 2);
  await fillNumber(page, 'sweep-max', 6);
  await fillNumber(page, 'sweep-step', 2);
  await page.getByText('Measurement').click();
  await fillNumber(page, 'time-cap', 200);
  await page.getByTestId('run-button').click();

  await expect(page.getByTestId('recommendation')).toBeVisible({ timeout: 240_000 });
  const rows = page.locator('[data-testid="results-table"] tbody tr');
  await expect(rows).toHaveCount(3);
  await expect(page.locator('[data-testid="results-table"] tbody tr[data-status="ok"]')).toHaveCount(3);
  await expect(page.getByTestId('adapter')).toContainText('swiftshader');
  await expect(page.getByTestId('fallback-warning')).toBeVisible();

  // Both charts drew something: a canvas with content encodes to a longer PNG than a blank one of the same size.
  for (const chartId of ['throughput-chart', 'memory-chart']) {
    const lengths = await page.getByTestId(chartId).locator('canvas').evaluate((canvas: HTMLCanvasElement) => {
      const blank = document.createElement('canvas');
      blank.width = canvas.width;
      blank.height = canvas.height;
      return { drawn: canvas.toDataURL().length, blank: blank.toDataURL().length, width: canvas.width };
    });
    expect(lengths.width).toBeGreaterThan(100);
    expect(lengths.drawn).toBeGreaterThan(lengths.blank + 1000);
  }

  // The downloaded JSON validates, and its recommendation matches the table.
  const downloadPromise = page.waitForEvent('download');
  await page.getByTestId('download-json').click();
  const download = await downloadPromise;
  expect(download.suggestedFilename()).toMatch(/^batch-profile_esm2_tiny_webgpu_.*\.json$/);
  const result = validateProfileResult(JSON.parse(await readFile(await download.path(), 'utf8')));
  expect(result.model.id).toBe('esm2_tiny');
  expect(result.environment.backend).toBe('webgpu');
  expect(result.points.map((point) => point.batchSize)).toEqual([2, 4, 6]);
  expect(result.points.every((point) => point.peakBytes !== null && point.peakBytes > 0)).toBe(true);
  expect(result.points.every((point) => point.runs >= 3)).toBe(true);
  const expected = recommendBatchSize(result.points, { unit: 'sequences', step: 2, min: 2, headroom: 0.8 });
  const { worstCase: _worstCase, confirmation: _confirmation, ...recommendation } = result.recommendation;
  expect(recommendation).toEqual(expected);
  expect(result.recommendation.worstCase?.sequences).toBe(result.recommendation.recommendedBatchSize);
  // Every point shows warm-up, spread and validity.
  for (const point of result.points) {
    expect(point.warmupMs).toBeGreaterThan(0);
    expect(point.coefficientOfVariation).toBeGreaterThanOrEqual(0);
    expect(point.spotCheck?.agrees).toBe(true);
  }
  await expect(page.getByTestId('recommended-batch-size')).toHaveText(String(result.recommendation.recommendedBatchSize));
  const tableMedians = await page.getByTestId('median-ms').allTextContents();
  expect(tableMedians).toHaveLength(result.points.length);

  // The permalink reopens the same numbers, read only, without running anything.
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.getByTestId('copy-link').click();
  const permalink = await page.getByTestId('permalink').inputValue();
  expect(permalink).toContain('#report=');
  const shared = await context.newPage();
  await shared.goto(permalink);
  await expect(shared.getByTestId('shared-banner')).toBeVisible();
  await expect(shared.getByTestId('run-button')).toHaveCount(0);
  await expect(shared.getByTestId('recommended-batch-size')).toHaveText(String(result.recommendation.recommendedBatchSize));
  expect(await shared.getByTestId('median-ms').allTextContents()).toEqual(tableMedians);
});

test('cancel keeps the points measured so far', async ({ page }) => {
  await openProfiler(page);
  await configure(page, {
    modelId: 'esm2_tiny',
    backend: 'webgpu',
    synthetic: SHORT_SYNTHETIC,
    sweep: { unit: 'sequences', min: 1, max: 40, step: 1, maxTimePerPointMs: 100, minRuns: 3 },
  });
  await page.getByTestId('run-button').click();
  await expect(page.locator('[data-testid="results-table"] tbody tr')).toHaveCount(1, { timeout: 120_000 });
  await page.getByTestId('cancel-button').click();
  await expect(page.getByTestId('run-panel')).toHaveAttribute('data-phase', 'cancelled', { timeout: 120_000 });
  const rowCount = await page.locator('[data-testid="results-table"] tbody tr').count();
  expect(rowCount).toBeGreaterThanOrEqual(1);
  expect(rowCount).toBeLessThan(40);
  await expect(page.getByTestId('recommendation')).toContainText('cancelled');
});

test('damaged and foreign links show a clear message', async ({ page }) => {
  await page.goto('/#report=1.eJzLSM3JyVcozy_KSQEAGgQEXQ-truncated');
  await expect(page.getByTestId('link-error')).toContainText('damaged');
  await page.goto('/#section-2');
  await expect(page.getByTestId('link-error')).toContainText('does not contain a batch-profiler report');
});

test('invalid settings keep the previous results', async ({ page }) => {
  await openProfiler(page);
  await configure(page, {
    modelId: 'esm2_tiny',
    backend: 'webgpu',
    synthetic: SHORT_SYNTHETIC,
    sweep: { unit: 'sequences', min: 1, max: 2, step: 1, maxTimePerPointMs: 100 },
  });
  await page.getByTestId('run-button').click();
  await expect(page.getByTestId('recommendation')).toBeVisible({ timeout: 120_000 });

  await fillNumber(page, 'sweep-max', 0);
  await page.getByTestId('run-button').click();

  await expect(page.getByTestId('run-error')).toContainText('To (0) must be a whole number, 1 or more.');
  await expect(page.getByTestId('recommendation')).toBeVisible();
  await expect(page.locator('[data-testid="results-table"] tbody tr')).toHaveCount(2);
});

test('saved JSON report opens read only', async ({ page }) => {
  await openProfiler(page);
  const report = buildSampleResult();

  await page.getByTestId('open-report').setInputFiles({ name: 'saved.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(report)) });

  await expect(page.getByTestId('shared-banner')).toBeVisible();
  await expect(page.getByTestId('recommended-batch-size')).toHaveText(String(SAMPLE_RECOMMENDED_BATCH_SIZE));
  await expect(page.locator('[data-testid="results-table"] tbody tr')).toHaveCount(report.points.length);
});

test('a file that is not a report shows what is wrong', async ({ page }) => {
  await openProfiler(page);

  await page.getByTestId('open-report').setInputFiles({ name: 'notes.json', mimeType: 'application/json', buffer: Buffer.from('{"hello": 1}') });

  await expect(page.getByTestId('link-error')).toContainText('notes.json');
});
