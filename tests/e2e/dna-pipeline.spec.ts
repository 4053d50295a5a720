import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from '@playwright/test';
import { validateProfileResult } from '../../src/report/schema';
import { synthesizeDna } from '../../src/sequences/syntheticDna';
import { tinyTokenizerJson } from '../unit/fixtures/tinyTokenizer';
import { configure, openProfiler } from './helpers';

const run = promisify(execFile);

/** Lower-case contigs of 650 to 1100 bp, as some assemblers write them. */
function lowerCaseContigs(): string {
  return synthesizeDna({ seed: 11, count: 6, minLength: 650, maxLength: 1100, gcContent: 0.45 })
    .map((record) => `>${record.id} synthetic contig\n${record.sequence.toLowerCase()}`)
    .join('\n');
}

test('headless command profiles dnabert_tiny and ESM-2 on the translated chunks', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'profile-dna-'));
  const fastaPath = join(folder, 'contigs.fasta');
  const tokenizerPath = join(folder, 'tokenizer.json');
  const outputPath = join(folder, 'result.json');
  await writeFile(fastaPath, lowerCaseContigs());
  await writeFile(tokenizerPath, JSON.stringify(tinyTokenizerJson()));

  const { stdout } = await run(
    'npx',
    [
      'tsx', 'src/cli/profile.ts', '--model', 'dnabert_tiny', '--backend', 'webgpu', '--fasta', fastaPath, '--chunk', '300',
      '--tokenizer', tokenizerPath, '--with-proteins', '--protein-model', 'esm2_tiny',
      '--min', '1', '--max', '3', '--step', '1', '--time-cap-ms', '150', '--output', outputPath,
    ],
    { timeout: 280_000 },
  );

  const result = validateProfileResult(JSON.parse(await readFile(outputPath, 'utf8')));
  expect(stdout).toContain('protein half of the pipeline');
  expect(result.model.id).toBe('dnabert_tiny');
  expect(result.input.alphabet).toBe('dna');
  expect(result.input.dna?.chunkLengthBp).toBe(300);
  expect(result.input.dna?.tokenCounts).toBe('exact');
  expect(result.input.dna?.recordCount).toBe(6);
  expect(result.points.map((point) => point.status)).toEqual(['ok', 'ok', 'ok']);
  expect(result.companions).toHaveLength(1);
  const proteins = result.companions![0];
  expect(proteins.model.id).toBe('esm2_tiny');
  expect(proteins.input.translation?.chunkCount).toBe(result.input.sequenceCount);
  expect(proteins.points.every((point) => point.status === 'ok')).toBe(true);
});

test('DNA model in the page shows chunk statistics and both sweeps', async ({ page }) => {
  await openProfiler(page);
  await page.getByTestId('model-select').selectOption('dnabert_tiny');
  await expect(page.getByText('Input sequences (DNA)')).toBeVisible();
  await expect(page.getByTestId('token-counts')).toContainText('estimated');
  await expect(page.getByTestId('n-fraction')).toBeVisible();
  await configure(page, {
    backend: 'webgpu',
    syntheticDna: { count: 8, minLength: 400, maxLength: 700 },
    chunking: { chunkLengthBp: 300 },
    sweep: { unit: 'sequences', min: 2, max: 4, step: 2, maxTimePerPointMs: 100 },
  });
  await page.getByTestId('with-proteins').check();
  await page.getByTestId('protein-model-select').selectOption('esm2_tiny');
  await page.getByTestId('run-button').click();

  await expect(page.getByTestId('run-panel')).toHaveAttribute('data-phase', 'done', { timeout: 240_000 });
  await expect(page.getByTestId('results-panel')).toHaveCount(2);
  await expect(page.getByTestId('recommendation')).toHaveCount(2);
  await expect(page.getByTestId('results-panel').nth(1)).toContainText('six-frame translations');
});
