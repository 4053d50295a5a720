/**
 * Makes docs/screenshot.png from a real run: builds and serves the app, profiles esm2_t6_8M on synthetic
 * proteins in headless Chromium, and captures the whole page.
 * Usage: npm run screenshot -- [--backend wasm|webgpu] [--model ID]
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launchChromium } from '../src/cli/browser';
import { buildApp, buildIsStale, PROJECT_ROOT, serveApp } from '../src/cli/server';

const { values } = parseArgs({ options: { backend: { type: 'string', default: 'wasm' }, model: { type: 'string', default: 'esm2_t6_8M' } } });
const outputPath = join(PROJECT_ROOT, 'docs/screenshot.png');

if (buildIsStale()) await buildApp();
const { server, url } = await serveApp();
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1520, height: 900 }, deviceScaleFactor: 1 });
  await page.goto(url);
  await page.waitForFunction(() => window.batchProfiler?.snapshot().inputCount !== null);
  await page.evaluate(
    (settings) => window.batchProfiler!.configure(settings),
    {
      modelId: values.model,
      backend: values.backend === 'webgpu' ? 'webgpu' : 'wasm',
      sweep: { unit: 'tokens', min: 512, max: 4096, step: 512, maxTimePerPointMs: 1000 },
    } as const,
  );
  await page.getByTestId('run-button').click();
  await page.getByTestId('recommendation').waitFor({ timeout: 900_000 });
  await mkdir(join(PROJECT_ROOT, 'docs'), { recursive: true });
  await page.screenshot({ path: outputPath, fullPage: true });
  console.log(`Wrote ${outputPath}`);
} finally {
  await browser.close();
  await server.close();
}
