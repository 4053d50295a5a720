import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from '@playwright/test';
import { validateProfileResult } from '../../src/report/schema';

/** Real influenza A HA proteins kept beside the repository; never copied into it. */
const REALDATA_FASTA = resolve(process.env.REALDATA_DIR ?? '../shared/realdata', 'iav_ha_protein.fasta');

test('esm2_t6_8M on WASM over real HA proteins writes a valid result', async () => {
  test.skip(process.env.RUN_REALDATA !== '1', 'opt-in: set RUN_REALDATA=1 to run the real-data profile');
  test.skip(!existsSync(REALDATA_FASTA), `real data not found at ${REALDATA_FASTA}; set REALDATA_DIR to the folder with iav_ha_protein.fasta`);
  test.setTimeout(1_200_000);

  const outputPath = join(await mkdtemp(join(tmpdir(), 'profile-real-')), 'result.json');
  const { stdout } = await promisify(execFile)(
    'npx',
    ['tsx', 'src/cli/profile.ts', '--model', 'esm2_t6_8M', '--backend', 'wasm', '--fasta', REALDATA_FASTA, '--unit', 'tokens', '--min', '512', '--max', '2048', '--step', '512', '--time-cap-ms', '1000', '--output', outputPath],
    { timeout: 1_150_000 },
  );
  console.log(stdout);
  const result = validateProfileResult(JSON.parse(await readFile(outputPath, 'utf8')));
  expect(result.input.sequenceCount).toBe(463);
  expect(result.points.length).toBeGreaterThan(0);
  expect(result.points.every((point) => point.status === 'ok')).toBe(true);
});
