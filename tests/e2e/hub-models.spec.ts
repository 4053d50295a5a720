import { expect, test, type Page } from '@playwright/test';
import { readFile } from 'node:fs/promises';
import type { ProfileResult } from '../../src/report/result';
import { validateProfileResult } from '../../src/report/schema';
import { DELIVERY_PREFIXES, HUB_REPOS, startHubServer } from '../support/hubServer';
import { SHORT_SYNTHETIC, configure, openProfiler } from './helpers';

const QUICK = { unit: 'sequences' as const, min: 2, max: 4, step: 2, warmupRuns: 1, minRuns: 1, maxRuns: 2, maxTimePerPointMs: 0 };

let hub: Awaited<ReturnType<typeof startHubServer>>;

test.beforeAll(async () => {
  hub = await startHubServer();
});

test.afterAll(async () => {
  await hub.close();
});

async function loadFromHub(page: Page, hubId: string, options: { variant?: 'model' | 'model_fp16'; prefix?: string } = {}): Promise<string | null> {
  await configure(page, { modelSource: 'hub', hubId, hubVariant: options.variant ?? 'model', hubBaseUrl: `${hub.baseUrl}${options.prefix ?? ''}` });
  return page.evaluate(() => window.batchProfiler!.loadExport().then(() => null, (error: Error) => error.message));
}

test('hub id export profiles on WebGPU', async ({ page }) => {
  await openProfiler(page);
  await configure(page, { backend: 'webgpu', synthetic: SHORT_SYNTHETIC, sweep: QUICK, strategy: 'linear', gpuBudget: '' });

  expect(await loadFromHub(page, HUB_REPOS.esm2)).toBeNull();
  await expect(page.getByTestId('export-info')).toContainText('config.json');
  await expect(page.getByTestId('export-info')).toContainText('input_ids int64');

  const downloadPromise = page.waitForEvent('download');
  const result: ProfileResult = await page.evaluate(() => window.batchProfiler!.run());
  expect(result.environment.backend).toBe('webgpu');
  expect(result.model.source).toBe('hub');
  expect(result.model.id).toBe(HUB_REPOS.esm2);
  expect(result.model.variant).toBe('model');
  expect(result.model.sourceLabel).toContain(HUB_REPOS.esm2);
  expect(result.model.url).toBe(`${hub.baseUrl}/${HUB_REPOS.esm2}/resolve/main/onnx/model.onnx`);
  expect(result.points.map((point) => point.status)).toEqual(['ok', 'ok']);

  // The downloaded JSON names the source and the variant too.
  await page.getByTestId('download-json').click();
  const download = await downloadPromise;
  const saved = validateProfileResult(JSON.parse(await readFile(await download.path(), 'utf8')));
  expect(saved.model.source).toBe('hub');
  expect(saved.model.variant).toBe('model');
});

test('second load comes from the cache', async ({ page }) => {
  await openProfiler(page);
  await configure(page, { backend: 'wasm' });
  await page.evaluate(() => window.batchProfiler!.clearModelCache());
  hub.resetCounts();

  expect(await loadFromHub(page, HUB_REPOS.dnabert)).toBeNull();
  const firstRequests = hub.totalRequests();
  expect(hub.requestCount(`/${HUB_REPOS.dnabert}/resolve/main/onnx/model.onnx`)).toBe(1);
  expect(await page.evaluate(() => window.batchProfiler!.modelCacheBytes())).toBeGreaterThan(0);

  expect(await loadFromHub(page, HUB_REPOS.dnabert)).toBeNull();
  expect(hub.totalRequests()).toBe(firstRequests);

  await page.getByTestId('clear-model-cache').click();
  await expect(page.getByTestId('model-cache')).toContainText('0 B');
  expect(await loadFromHub(page, HUB_REPOS.dnabert)).toBeNull();
  expect(hub.requestCount(`/${HUB_REPOS.dnabert}/resolve/main/onnx/model.onnx`)).toBe(2);
});

test('fp16 variant needs shader-f16 on WebGPU', async ({ page }) => {
  await openProfiler(page);
  await configure(page, { backend: 'webgpu' });
  hub.resetCounts();

  const error = await loadFromHub(page, HUB_REPOS.esm2, { variant: 'model_fp16' });

  expect(hub.requestCount(`/${HUB_REPOS.esm2}/resolve/main/onnx/model_fp16.onnx`)).toBe(1);
  expect(error).toContain('fp16 export');
  expect(error).toContain('shader-f16');
  await expect(page.getByTestId('export-error')).toContainText('shader-f16');
});

test('fp16 variant profiles on WASM', async ({ page }) => {
  await openProfiler(page);
  await configure(page, { backend: 'wasm', synthetic: SHORT_SYNTHETIC, sweep: QUICK, strategy: 'linear' });

  expect(await loadFromHub(page, HUB_REPOS.esm2, { variant: 'model_fp16' })).toBeNull();
  const result: ProfileResult = await page.evaluate(() => window.batchProfiler!.run());

  expect(result.model.variant).toBe('model_fp16');
  expect(result.model.dtype).toBe('float16');
  expect(result.points.every((point) => point.status === 'ok')).toBe(true);
});

const ERROR_CASES = [
  { name: 'not found', hubId: 'test/no_such_model', prefix: '', expected: /not found|404/i },
  { name: 'CORS refusal', hubId: HUB_REPOS.esm2, prefix: DELIVERY_PREFIXES.noCors, expected: /Access-Control-Allow-Origin/ },
  { name: 'HTML page', hubId: HUB_REPOS.esm2, prefix: DELIVERY_PREFIXES.html, expected: /HTML/ },
  { name: 'truncated file', hubId: HUB_REPOS.esm2, prefix: DELIVERY_PREFIXES.cutBody, expected: /truncated|incomplete|ended after/i },
  { name: 'over device limits', hubId: HUB_REPOS.oversized, prefix: '', expected: /maxBufferSize/ },
  { name: 'missing external data', hubId: HUB_REPOS.missingExternal, prefix: '', expected: /external data/i },
  { name: 'unsupported operator', hubId: HUB_REPOS.unsupportedOp, prefix: '', expected: /operator Frobnicate/ },
  { name: 'unfillable input', hubId: HUB_REPOS.pixelValues, prefix: '', expected: /pixel_values/ },
];

for (const errorCase of ERROR_CASES) {
  test(`load error: ${errorCase.name}`, async ({ page }) => {
    await openProfiler(page);
    await configure(page, { backend: 'webgpu' });

    const error = await loadFromHub(page, errorCase.hubId, { prefix: errorCase.prefix });

    expect(error).toMatch(errorCase.expected);
    await expect(page.getByTestId('export-error')).toBeVisible();
  });
}

test('empty hub id gets a message', async ({ page }) => {
  await openProfiler(page);
  await page.getByTestId('model-source').selectOption('hub');
  await page.getByTestId('load-export').click();

  await expect(page.getByTestId('export-error')).toContainText('Hub model id is empty');
});

test('unknown architecture asks the user', async ({ page }) => {
  await openProfiler(page);
  await configure(page, { backend: 'wasm' });

  const error = await loadFromHub(page, HUB_REPOS.int32Reordered);
  expect(error).toContain('Enter the model family');
  await expect(page.getByTestId('architecture-form')).toBeVisible();

  await page.getByTestId('architecture-form').getByLabel('Layers').fill('1');
  // The test graph's embedding is 4 wide.
  await page.getByTestId('architecture-form').getByLabel('Hidden size').fill('4');
  await page.getByTestId('architecture-form').getByLabel('Attention heads').fill('2');
  await page.getByTestId('apply-architecture').click();
  await expect(page.getByTestId('export-info')).toContainText('(user)');
});

test('local files load with external data', async ({ page }) => {
  await openProfiler(page);
  await configure(page, { backend: 'wasm', synthetic: SHORT_SYNTHETIC, sweep: QUICK, strategy: 'linear', modelSource: 'file' });
  const onnx = hub.repoFile(HUB_REPOS.external, 'onnx/model.onnx')!;
  const data = hub.repoFile(HUB_REPOS.external, 'onnx/model.onnx_data')!;
  const config = hub.repoFile(HUB_REPOS.esm2, 'config.json')!;

  // config.json dropped with the model names the architecture, as a hub repository's does.
  await page.getByTestId('model-file-input').setInputFiles([
    { name: 'config.json', mimeType: 'application/json', buffer: Buffer.from(config) },
    { name: 'model.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from(onnx) },
    { name: 'model.onnx_data', mimeType: 'application/octet-stream', buffer: Buffer.from(data) },
  ]);
  await page.waitForFunction(() => window.batchProfiler!.snapshot().exportModelId !== null || window.batchProfiler!.snapshot().exportError !== null);
  const snapshot = await page.evaluate(() => window.batchProfiler!.snapshot());
  expect(snapshot.exportError).toBeNull();

  const result: ProfileResult = await page.evaluate(() => window.batchProfiler!.run());
  expect(result.model.source).toBe('file');
  expect(result.model.layers).toBe(2);
  expect(result.points.every((point) => point.status === 'ok')).toBe(true);
});

test('manifest lists models served with the app', async ({ page }) => {
  // The app serves public/models/ itself, so the test plays a deployment that put an export there.
  const manifest = { models: [{ id: 'esm2-tiny-local', label: 'ESM-2 tiny (served)', path: 'esm2_tiny/model.onnx', config: 'esm2_tiny/config.json', family: 'esm2' }] };
  await page.route('**/models/manifest.json', (route) => route.fulfill({ json: manifest }));
  await page.route('**/models/esm2_tiny/model.onnx', (route) => route.fulfill({ body: Buffer.from(hub.repoFile(HUB_REPOS.esm2, 'onnx/model.onnx')!) }));
  await page.route('**/models/esm2_tiny/config.json', (route) => route.fulfill({ body: Buffer.from(hub.repoFile(HUB_REPOS.esm2, 'config.json')!) }));
  await openProfiler(page);
  await configure(page, { backend: 'wasm', synthetic: SHORT_SYNTHETIC, sweep: QUICK, strategy: 'linear' });

  await page.getByTestId('model-source').selectOption('manifest');
  await page.getByTestId('manifest-select').selectOption('esm2-tiny-local');
  await page.getByTestId('load-export').click();
  await expect(page.getByTestId('export-info')).toContainText('esm2-tiny-local');

  const result: ProfileResult = await page.evaluate(() => window.batchProfiler!.run());
  expect(result.model.source).toBe('manifest');
  expect(result.points.every((point) => point.status === 'ok')).toBe(true);
});
