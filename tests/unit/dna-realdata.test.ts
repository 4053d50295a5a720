/**
 * Opt-in checks of the DNA steps on real viral FASTA files. They run only when the environment variable
 * REALDATA_DIR names a folder with iav_ha.fasta (463 influenza A HA genes of about 1.7 kb) and
 * pcv2_orf2.fasta (309 porcine circovirus 2 ORF2 genes of about 700 bp, lower case), and are skipped
 * otherwise.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chunkDna } from '../../src/sequences/chunking';
import { prepareDna } from '../../src/sequences/dna';
import { countDnaTokens, createEstimatedDnaTokenizer } from '../../src/sequences/dnaTokenizer';
import { readFasta } from '../../src/sequences/fasta';
import { translateRecords } from '../../src/sequences/translation';

const realDataDir = process.env.REALDATA_DIR;
const hasRealData =
  realDataDir !== undefined &&
  existsSync(join(realDataDir, 'iav_ha.fasta')) &&
  existsSync(join(realDataDir, 'pcv2_orf2.fasta'));

async function prepareFile(name: string) {
  const bytes = new Uint8Array(readFileSync(join(realDataDir ?? '', name)));
  const fasta = await readFasta(bytes, { fileName: name });
  return { fasta, dna: prepareDna(fasta.records) };
}

describe.skipIf(!hasRealData)('DNA steps on real FASTA (set REALDATA_DIR to run)', () => {
  it('iav_ha.fasta keeps all records with little N', async () => {
    const { dna } = await prepareFile('iav_ha.fasta');
    expect(dna.records).toHaveLength(463);
    expect(dna.nFraction).toBeLessThan(0.001);
  });

  it('iav_ha.fasta gives 4 overlapping 500 bp chunks per gene', async () => {
    const { dna } = await prepareFile('iav_ha.fasta');
    const { chunks } = chunkDna(dna.records, { chunkLength: 500 });
    expect(chunks).toHaveLength(4 * 463);
    expect(new Set(chunks.map((chunk) => chunk.sequence.length))).toEqual(new Set([500]));
  });

  it('iav_ha.fasta chunks keep one open frame each', async () => {
    const { dna } = await prepareFile('iav_ha.fasta');
    const translated = translateRecords(chunkDna(dna.records, { chunkLength: 500 }).chunks);
    expect(translated.keptFrameCount).toBe(4 * 463);
  });

  it('pcv2_orf2.fasta reader converts lower case once', async () => {
    const { fasta, dna } = await prepareFile('pcv2_orf2.fasta');
    const notices = [...fasta.notices, ...dna.notices].filter((notice) => notice.code === 'lowercase-converted');
    expect(notices).toEqual([expect.objectContaining({ count: 309 })]);
  });

  it('pcv2_orf2.fasta chunks have 102 estimated tokens', async () => {
    const { dna } = await prepareFile('pcv2_orf2.fasta');
    const { chunks } = chunkDna(dna.records, { chunkLength: 500 });
    expect(chunks).toHaveLength(2 * 309);
    expect(new Set(countDnaTokens(chunks, createEstimatedDnaTokenizer()))).toEqual(new Set([102]));
  });
});
