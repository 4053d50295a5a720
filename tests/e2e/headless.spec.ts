import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from '@playwright/test';
import { validateProfileResult } from '../../src/report/schema';

const run = promisify(execFile);

/** Runs the headless command and returns its exit code and output, without throwing on a non-zero exit. */
async function profileCommand(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('npx', ['tsx', 'src/cli/profile.ts', ...args], { timeout: 280_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const PROTEINS = [
  '>sp|P1|first protein',
  'MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ',
  '>sp|P2|second protein',
  'MSDNGPQNQRNAPRITFGGPSDSTGSNQNGERS*',
  '>sp|P3|third protein',
  'mkvlaagivgllvaq',
  '>sp|P4|fourth',
  'MADEEKLPPGWEKRMSRSSGRVYYFNHITNASQWERPSG',
].join('\n');

test('headless command profiles esm2_tiny on WebGPU from a FASTA file', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'profile-cli-'));
  const fastaPath = join(folder, 'proteins.fasta');
  const outputPath = join(folder, 'result.json');
  await writeFile(fastaPath, PROTEINS);

  const { code, stdout, stderr } = await profileCommand([
    '--model', 'esm2_tiny', '--backend', 'webgpu', '--fasta', fastaPath,
    '--unit', 'sequences', '--min', '1', '--max', '3', '--step', '1', '--time-cap-ms', '200', '--output', outputPath,
  ]);
  expect(code, stderr).toBe(0);
  expect(stdout).toContain('| batch |');
  expect(stdout).toMatch(/Recommendation: \d+ sequences? per batch/);

  const result = validateProfileResult(JSON.parse(await readFile(outputPath, 'utf8')));
  expect(result.input.source).toBe('fasta');
  expect(result.input.fileName).toBe('proteins.fasta');
  expect(result.input.sequenceCount).toBe(4);
  expect(result.points.map((point) => point.status)).toEqual(['ok', 'ok', 'ok']);
  expect(JSON.stringify(result)).not.toContain('MKTAYIAKQRQ');
});

test('headless command rejects an unknown model with exit code 2', async () => {
  const { code, stderr } = await profileCommand(['--model', 'esm3_huge']);
  expect(code).toBe(2);
  expect(stderr).toContain('Unknown --model "esm3_huge"');
});

test('headless command rejects a missing FASTA file with exit code 2', async () => {
  const { code, stderr } = await profileCommand(['--model', 'esm2_tiny', '--fasta', '/nonexistent/proteins.fasta']);
  expect(code).toBe(2);
  expect(stderr).toContain('FASTA file not found');
});

test('headless command fails with exit code 1 on a file without records', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'profile-cli-'));
  const fastaPath = join(folder, 'empty.fasta');
  await writeFile(fastaPath, '; only a comment\n\n');
  const { code, stderr } = await profileCommand(['--model', 'esm2_tiny', '--backend', 'wasm', '--fasta', fastaPath]);
  expect(code).toBe(1);
  expect(stderr).toContain('no FASTA record');
});
