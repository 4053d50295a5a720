/**
 * Headless profiler: `npm run profile -- --model esm2_t6_8M --backend webgpu --fasta FILE …`.
 * It serves the built app on 127.0.0.1, drives it in Chromium through Playwright with the same state
 * and actions as the page's buttons, prints the table and the recommendation, and writes the JSON.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import type { ProfileResult } from '../report/result';
import { validateProfileResult } from '../report/schema';
import { resultToJson } from '../report/export';
import { parseProfileArgs, UsageError, USAGE, type ProfileOptions } from './args';
import { launchChromium } from './browser';
import { buildApp, buildIsStale, serveApp } from './server';
import { formatKernelTimes, formatRecommendation, formatResultTable, formatSummary } from './table';

const log = (message: string) => process.stderr.write(`${message}\n`);

/** Error of a run that still produced a result, such as a failed protein half of a DNA pipeline run. */
let lastRunError: string | null = null;

/** Returns the first line of an error from the page, without Playwright's "page.evaluate: Error:" prefix. */
function cleanBrowserError(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0].replace(/^page\.evaluate: /, '').replace(/^Error: /, '');
}

async function waitForInput(page: Page, timeoutMs: number): Promise<void> {
  await page.waitForFunction(
    () => {
      const snapshot = window.batchProfiler?.snapshot();
      return snapshot !== undefined && !snapshot.inputLoading && (snapshot.inputCount !== null || snapshot.inputError !== null);
    },
    undefined,
    { timeout: timeoutMs, polling: 200 },
  );
  const snapshot = await page.evaluate(() => window.batchProfiler!.snapshot());
  if (snapshot.inputError) throw new Error(`The input was rejected: ${snapshot.inputError}`);
}

/**
 * Runs one profile.
 * 1. Build the app if dist/ is stale, and serve it.
 * 2. Open it in Chromium, load the input, apply the settings.
 * 3. Run the sweep, printing progress, and return the validated result.
 */
async function profile(options: ProfileOptions): Promise<ProfileResult> {
  // 1. Build and serve.
  if (options.rebuild || buildIsStale()) {
    log('Building the app…');
    await buildApp();
  }
  const { server, url } = await serveApp();
  const browser = await launchChromium();
  try {
    // 2. Page, input, settings.
    const page = await browser.newPage();
    page.on('pageerror', (error) => log(`[page error] ${error.message}`));
    page.on('console', (message) => {
      // onnxruntime-web prints its own warnings through console.error, with terminal colour codes.
      if (message.type() === 'error') log(`[browser] ${message.text().replace(/\u001b\[[0-9;]*m/g, '')}`);
    });
    await page.goto(url);
    await page.waitForFunction(() => window.batchProfiler !== undefined, undefined, { timeout: 60_000 });
    await waitForInput(page, 300_000);
    await page.evaluate(
      (settings) => window.batchProfiler!.configure(settings),
      {
        modelId: options.modelId,
        backend: options.backend,
        sweep: {
          unit: options.unit,
          min: options.min,
          max: options.max,
          step: options.step,
          headroom: options.headroom,
          warmupRuns: options.warmupRuns,
          minRuns: options.minRuns,
          maxRuns: options.maxRuns,
          maxTimePerPointMs: options.maxTimePerPointMs,
          targetRelativeError: options.targetRelativeError,
        },
        chunking: { chunkLengthBp: options.chunkLengthBp, lastChunk: options.lastChunk },
        withProteins: options.withProteins,
        proteinModelId: options.proteinModelId,
        strategy: options.strategy,
        gpuBudget: options.budget ?? '',
        confirmRecommendation: options.confirm,
        captureKernelTimes: options.kernelTimes,
        precision: options.precision,
        architecture: options.architecture,
        synthetic: options.syntheticCount === null ? undefined : { count: options.syntheticCount },
        syntheticDna:
          options.syntheticCount === null && options.gcContent === null
            ? undefined
            : { ...(options.syntheticCount === null ? {} : { count: options.syntheticCount }), ...(options.gcContent === null ? {} : { gcContent: options.gcContent }) },
      },
    );
    if (options.exportSource) {
      await loadExport(page, options, log);
      // A DNA export switches the page to DNA defaults, so the sweep fields given on the command line go in again.
      if (Object.keys(options.explicitSweep).length > 0) await page.evaluate((sweep) => window.batchProfiler!.configure({ sweep }), options.explicitSweep);
    }
    if (options.estimateCapacity) {
      log(`Estimating GPU capacity up to ${options.capacityCap}…`);
      const capacity = await page.evaluate((cap) => window.batchProfiler!.estimateCapacity(cap), options.capacityCap);
      log(capacity.message);
    }
    if (options.tokenizerPath) {
      await page.locator('[data-testid="tokenizer-input"]').setInputFiles(options.tokenizerPath);
      await page.waitForFunction(() => {
        const snapshot = window.batchProfiler!.snapshot();
        return snapshot.tokenCounts === 'exact' || snapshot.tokenizerError !== null;
      });
      const tokenizerError = await page.evaluate(() => window.batchProfiler!.snapshot().tokenizerError);
      if (tokenizerError) throw new Error(`The tokenizer was rejected: ${tokenizerError}`);
      log('Tokenizer loaded: token counts are exact.');
    }
    if (options.fastaPath) {
      await page.locator('[data-testid="fasta-input"]').setInputFiles(options.fastaPath);
      const fileName = basename(options.fastaPath);
      await page.waitForFunction(
        (name) => {
          const snapshot = window.batchProfiler!.snapshot();
          return !snapshot.inputLoading && (snapshot.inputFileName === name || snapshot.inputError !== null);
        },
        fileName,
        { timeout: 300_000, polling: 200 },
      );
    }
    await waitForInput(page, 300_000);
    log(`Input: ${await page.evaluate(() => window.batchProfiler!.snapshot().inputCount)} sequences.`);

    // 3. Sweep with progress.
    let lastStatus = '';
    const progressTimer = setInterval(() => {
      page
        .evaluate(() => window.batchProfiler!.snapshot())
        .then((snapshot) => {
          const progress = snapshot.progress;
          const status =
            snapshot.phase === 'running' && progress
              ? `${progress.sweep ? `${progress.sweep}: ` : ''}probe ${progress.index + 1} of ${progress.total}, batch size ${progress.batchSize}`
              : snapshot.statusText || snapshot.phase;
          if (status !== lastStatus) log(status);
          lastStatus = status;
        })
        .catch(() => undefined);
    }, 2000);
    try {
      const result = await page.evaluate(() => window.batchProfiler!.run());
      lastRunError = await page.evaluate(() => window.batchProfiler!.snapshot().runError);
      return validateProfileResult(result);
    } finally {
      clearInterval(progressTimer);
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

async function main(): Promise<number> {
  let options: ProfileOptions;
  try {
    options = parseProfileArgs(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      log(error.message);
      return 2;
    }
    throw error;
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (options.fastaPath && !existsSync(options.fastaPath)) {
    log(`FASTA file not found: ${resolve(options.fastaPath)}. Check the path given to --fasta.`);
    return 2;
  }
  if (options.outputPath && !existsSync(dirname(resolve(options.outputPath)))) {
    log(`The folder for --output does not exist: ${dirname(resolve(options.outputPath))}. Create it or choose another path.`);
    return 2;
  }
  if (options.tokenizerPath && !existsSync(options.tokenizerPath)) {
    log(`Tokenizer file not found: ${resolve(options.tokenizerPath)}. Check the path given to --tokenizer.`);
    return 2;
  }

  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`The run did not finish within ${options.timeoutMinutes} minutes (--timeout-min).`)), options.timeoutMinutes * 60_000);
  });
  try {
    const result = await Promise.race([profile(options), timeout]);
    const runError = lastRunError;
    process.stdout.write(`${formatSummary(result)}\n\n${formatResultTable(result)}\n\n`);
    process.stdout.write(`${formatRecommendation(result.recommendation, result.sweep.unit)}\n`);
    for (const companion of result.companions ?? []) {
      const view = { ...result, model: companion.model, input: companion.input, sweep: companion.sweep, points: companion.points, recommendation: companion.recommendation };
      process.stdout.write(`\n${companion.role}\n${formatSummary(view)}\n\n${formatResultTable(view)}\n\n`);
      process.stdout.write(`${formatRecommendation(companion.recommendation, companion.sweep.unit)}\n`);
      if (companion.drift) {
        process.stdout.write(
          `fp16 drift from fp32 over ${companion.drift.sequences} sequences: max absolute difference ${companion.drift.maxAbsDifference.toExponential(2)}, lowest cosine similarity ${companion.drift.cosineSimilarity.toFixed(6)}\n`,
        );
      }
    }
    const kernelPoint = result.points.find((point) => point.kernelTimes);
    if (kernelPoint?.kernelTimes) process.stdout.write(`\n${formatKernelTimes(kernelPoint.kernelTimes, kernelPoint.batchSize, result.sweep.unit)}\n`);
    if (result.environment.adapter?.isFallbackAdapter) {
      process.stdout.write('Warning: the WebGPU adapter is a software fallback; these numbers do not describe a real GPU.\n');
    }
    if (options.outputPath) {
      await writeFile(options.outputPath, resultToJson(result));
      log(`Wrote ${resolve(options.outputPath)}`);
    }
    if (runError) {
      log(runError);
      return 1;
    }
    return 0;
  } catch (error) {
    log(`Profiling failed: ${cleanBrowserError(error)}`);
    return 1;
  } finally {
    clearTimeout(timer);
  }
}

const exitCode = await main();
process.exitCode = exitCode;
// A timed-out run may leave Chromium or the server holding the event loop open; this ends the process anyway.
setTimeout(() => process.exit(exitCode), 2000).unref();

/** Loads the export named on the command line in the page and stops with its error message when it fails. */
async function loadExport(page: Page, options: ProfileOptions, log: (line: string) => void): Promise<void> {
  const source = options.exportSource!;
  if (source.kind === 'file') {
    await page.evaluate(() => window.batchProfiler!.configure({ modelSource: 'file' }));
    await page.locator('[data-testid="model-file-input"]').setInputFiles(source.paths);
    await page.waitForFunction(
      () => {
        const snapshot = window.batchProfiler!.snapshot();
        return !snapshot.exportLoading && (snapshot.exportModelId !== null || snapshot.exportError !== null);
      },
      undefined,
      { timeout: 900_000, polling: 200 },
    );
    const error = await page.evaluate(() => window.batchProfiler!.snapshot().exportError);
    if (error) throw new Error(error);
  } else {
    await page.evaluate(
      (settings) => window.batchProfiler!.configure(settings),
      source.kind === 'url'
        ? { modelSource: 'url' as const, modelUrl: source.url }
        : { modelSource: 'hub' as const, hubId: source.hubId, hubVariant: source.variant, ...(source.hubBaseUrl ? { hubBaseUrl: source.hubBaseUrl } : {}) },
    );
    await page.evaluate(() => window.batchProfiler!.loadExport());
  }
  log(`Model: ${await page.evaluate(() => window.batchProfiler!.snapshot().exportModelId)} loaded.`);
}
