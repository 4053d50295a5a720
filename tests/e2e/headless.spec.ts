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

test('headless command profiles exports by hub id and file', async () => {
  const { startHubServer, HUB_REPOS } = await import('../support/hubServer');
  const hub = await startHubServer();
  try {
    const folder = await mkdtemp(join(tmpdir(), 'profile-cli-'));
    const fastaPath = join(folder, 'proteins.fasta');
    await writeFile(fastaPath, PROTEINS);
    const quick = ['--backend', 'wasm', '--fasta', fastaPath, '--unit', 'sequences', '--min', '1', '--max', '2', '--step', '1', '--time-cap-ms', '0'];

    const hubOutput = join(folder, 'hub.json');
    const byHub = await profileCommand([...quick, '--hub-id', HUB_REPOS.esm2, '--hub-base-url', hub.baseUrl, '--output', hubOutput]);
    expect(byHub.code, byHub.stderr).toBe(0);
    const hubResult = validateProfileResult(JSON.parse(await readFile(hubOutput, 'utf8')));
    expect(hubResult.model.source).toBe('hub');
    expect(hubResult.model.variant).toBe('model');

    const modelPath = join(folder, 'model.onnx');
    await writeFile(modelPath, hub.repoFile(HUB_REPOS.esm2, 'onnx/model.onnx')!);
    const fileOutput = join(folder, 'file.json');
    const byFile = await profileCommand([...quick, '--model-file', modelPath, '--architecture', 'esm2,2,32,4', '--output', fileOutput]);
    expect(byFile.code, byFile.stderr).toBe(0);
    const fileResult = validateProfileResult(JSON.parse(await readFile(fileOutput, 'utf8')));
    expect(fileResult.model.source).toBe('file');
    expect(fileResult.model.id).toBe('model.onnx');

    const missing = await profileCommand([...quick, '--hub-id', 'test/no_such_model', '--hub-base-url', hub.baseUrl]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not found|404/i);
  } finally {
    await hub.close();
  }
});
