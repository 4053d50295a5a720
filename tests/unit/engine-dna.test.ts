import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProfilerEngine } from '../../src/worker/engine';
import type { ProbeRequest } from '../../src/worker/api';

const DNA_FASTA = [
  '>contig1 first',
  'atgaaagcaattctagtcgtgctactctatacatttgcaaccgcaaatgcagacacattatgtataggttatcatgcgaacaattcaacagacactgtagacacagtactagaaaagaatgtaacagtaacacactctgttaaccttctagaagacaagcataacggaaaactatgcaaactaagaggggtagccccattgcatttgggtaaatgtaacattgctggctggatcctgggaaatccagagtgtgaatcactctccacagcaagctcatggtcctacattgtggaaacatctagttcagacaatggaacgtgttacccaggagatttcatcaattatgaggagctaagagagcaattgagctcagtgtcatcatttgaaaggtttgagatattccccaagacaagttcatggcccaatcatgactcgaacaaaggtgtaacggcagcatgtcctcatgctggagcaaaaagcttctacaaaaatttaatatggctagttaaaaaaggaaattcatacccaaagctcagcaaatcctacattaatgataaagggaaagaagtcctcgtgctatggggcattcaccatccatctactagtgctgaccaacaaagtctctatcagaatgcagatgcatatgtttttgtggggacatcaagatacagcaagaagttcaagccggaaatagcaataagacccaaagtgagggatcaagaagggagaatgaactattactggacactagtagagccgggagacaaaataacattcgaagcaactggaaatctagtggtaccgagatatgcattcgcaatggaaagaaatgctggatctggtattatcatttcagatacaccagtccacgattgcaatacaacttgtcaaacacccaagggtgctataaacaccagcctcccatttcagaatatacatccgatcacaattggaaaatgtccaaaatatgtaaaaagcacaaaattgagactggccacaggattgaggaatatcccgtctattcaatctaga',
  '>contig2 second',
  'ATGGCAAAGGCTGTCGCTGTTCTAAAACCAGATGCTAAAGGAACAAAGCACCACCATGCCGTCACTGACCAAGGCCGATCCGATGAAACCAACGGTCATGCCGATCAGAGCCCAGATCAGACC',
].join('\n');

const MEASURE: Omit<ProbeRequest, 'unit' | 'batchSize'> = { warmupRuns: 1, minRuns: 3, maxRuns: 4, maxTimePerPointMs: 50 };

describe('ProfilerEngine with DNA input', () => {
  beforeAll(() => {
    ort.env.wasm.numThreads = 1;
  });

  it('ProfilerEngine chunks DNA and profiles dnabert_tiny', async () => {
    const engine = new ProfilerEngine(ort);
    await engine.initialize('wasm');
    const summary = await engine.loadInput({ kind: 'fasta', file: new Blob([DNA_FASTA]), fileName: 'contigs.fasta', alphabet: 'dna', chunking: { chunkLengthBp: 300 } });
    await engine.loadModel('dnabert_tiny');

    const point = await engine.probe({ unit: 'sequences', batchSize: 3, ...MEASURE });

    expect(summary.alphabet).toBe('dna');
    expect(summary.dna?.recordCount).toBe(2);
    expect(summary.dna?.chunkLengthBp).toBe(300);
    expect(summary.dna?.tokenCounts).toBe('estimated');
    expect(summary.lengthStats.max).toBe(300);
    expect(point.status).toBe('ok');
    expect(point.sequences).toBe(3);
  });

  it('ProfilerEngine translates DNA chunks for ESM-2', async () => {
    const engine = new ProfilerEngine(ort);
    await engine.initialize('wasm');
    await engine.loadInput({ kind: 'fasta', file: new Blob([DNA_FASTA]), fileName: 'contigs.fasta', alphabet: 'dna', chunking: { chunkLengthBp: 300 } });

    const proteins = await engine.translateInput();
    await engine.loadModel('esm2_tiny');
    const point = await engine.probe({ unit: 'tokens', batchSize: 256, ...MEASURE });

    expect(proteins.alphabet).toBe('protein');
    expect(proteins.translation?.chunkCount).toBeGreaterThan(0);
    expect(proteins.translation!.framesKept + proteins.translation!.framesDropped).toBe(6 * proteins.translation!.chunkCount);
    expect(proteins.sequenceCount).toBe(proteins.translation?.framesKept);
    expect(point.status).toBe('ok');
  });

  it('ProfilerEngine rejects a protein model on DNA input', async () => {
    const engine = new ProfilerEngine(ort);
    await engine.initialize('wasm');
    await engine.loadInput({ kind: 'synthetic-dna', options: { seed: 3, count: 4, minLength: 100, maxLength: 100, gcContent: 0.5 } });
    await engine.loadModel('esm2_tiny');

    const error = await engine.probe({ unit: 'sequences', batchSize: 2, ...MEASURE }).then(
      () => null,
      (rejection: unknown) => rejection as Error,
    );

    expect(error?.name).toBe('InputMismatchError');
  });
});
