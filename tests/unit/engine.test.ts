import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BuiltModel } from '../../src/models/esm2Graph';
import { DATA_TYPES, OnnxGraphBuilder, attr } from '../../src/models/onnxBuilder';
import { selectTokenBudgetBatch } from '../../src/sequences/batching';
import { synthesizeProteins, type SyntheticProteinOptions } from '../../src/sequences/synthetic';
import type { ProbeRequest } from '../../src/worker/api';
import { ProfilerEngine, findInvalidValue } from '../../src/worker/engine';
import { getModelConfig } from '../../src/models/catalog';
import { matmulParameterCount } from '../../src/models/counts';

const SYNTHETIC: SyntheticProteinOptions = { seed: 1, count: 12, minLength: 10, maxLength: 30 };
const TINY_HIDDEN = 32;
/** Measure settings that keep each probe short. */
const MEASURE_SETTINGS = { warmupRuns: 1, minRuns: 3, maxRuns: 5, maxTimePerPointMs: 50 };

/** Token counts of the synthetic input, with `<cls>` and `<eos>`. */
const LENGTHS_TOKENS = synthesizeProteins(SYNTHETIC).map((record) => record.sequence.length + 2);

/**
 * Builds a graph with the engine's inputs and output that outputs NaN everywhere. The output is
 * sqrt(-(input_ids + 1)) × attention_mask, shaped [batch, sequence, 1].
 */
function buildNanModel(): BuiltModel {
  const builder = new OnnxGraphBuilder();
  const inputIds = builder.addInput('input_ids', 'int64', ['batch', 'sequence']);
  const attentionMask = builder.addInput('attention_mask', 'int64', ['batch', 'sequence']);
  const ids = builder.op('Cast', [inputIds], { to: attr.int(DATA_TYPES.float32) });
  const mask = builder.op('Cast', [attentionMask], { to: attr.int(DATA_TYPES.float32) });
  const negative = builder.op('Neg', [builder.op('Add', [ids, builder.constantFloat32([1], [])])]);
  const masked = builder.op('Mul', [builder.op('Sqrt', [negative]), mask]);
  builder.op('Unsqueeze', [masked, builder.constantInt64([2])], {}, 'last_hidden_state');
  builder.addOutput('last_hidden_state', 'float32', ['batch', 'sequence', 1]);
  return fromBuildResult(builder);
}

/** Builds a graph whose output is `value` everywhere, shaped [batch, sequence, 1]. */
function buildConstantModel(value: number): () => BuiltModel {
  return () => {
    const builder = new OnnxGraphBuilder();
    builder.addInput('input_ids', 'int64', ['batch', 'sequence']);
    const attentionMask = builder.addInput('attention_mask', 'int64', ['batch', 'sequence']);
    const ones = builder.op('Cast', [builder.op('Greater', [attentionMask, builder.constantInt64([-1], [])])], { to: attr.int(DATA_TYPES.float32) });
    const filled = builder.op('Mul', [ones, builder.constantFloat32([value], [])]);
    builder.op('Unsqueeze', [filled, builder.constantInt64([2])], {}, 'last_hidden_state');
    builder.addOutput('last_hidden_state', 'float32', ['batch', 'sequence', 1]);
    return fromBuildResult(builder);
  };
}

/**
 * Builds a graph whose rows depend on the rest of the batch: each id minus the mean id of its position
 * over the batch. Alone, a sequence gives zeros; inside a batch, it does not.
 */
function buildBatchMixingModel(): BuiltModel {
  const builder = new OnnxGraphBuilder();
  const inputIds = builder.addInput('input_ids', 'int64', ['batch', 'sequence']);
  builder.addInput('attention_mask', 'int64', ['batch', 'sequence']);
  const ids = builder.op('Cast', [inputIds], { to: attr.int(DATA_TYPES.float32) });
  // ReduceMean takes its axes as an attribute up to opset 17.
  const batchMean = builder.op('ReduceMean', [ids], { axes: attr.ints([0]), keepdims: attr.int(1) });
  const centered = builder.op('Sub', [ids, batchMean]);
  builder.op('Unsqueeze', [centered, builder.constantInt64([2])], {}, 'last_hidden_state');
  builder.addOutput('last_hidden_state', 'float32', ['batch', 'sequence', 1]);
  return fromBuildResult(builder);
}

/** Builds a graph whose run fails, because it reshapes [batch, sequence] into rows of a prime length that never divides it. */
function buildFailingModel(): BuiltModel {
  const builder = new OnnxGraphBuilder();
  const inputIds = builder.addInput('input_ids', 'int64', ['batch', 'sequence']);
  builder.addInput('attention_mask', 'int64', ['batch', 'sequence']);
  const ids = builder.op('Cast', [inputIds], { to: attr.int(DATA_TYPES.float32) });
  builder.op('Reshape', [ids, builder.constantInt64([-1, 999_983, 1])], {}, 'last_hidden_state');
  builder.addOutput('last_hidden_state', 'float32', ['rows', 999_983, 1]);
  return fromBuildResult(builder);
}

function fromBuildResult(builder: OnnxGraphBuilder): BuiltModel {
  const result = builder.build({ graphName: 'test_graph' });
  return { modelBytes: result.modelBytes, externalData: result.externalData, parameterCount: result.parameterCount, weightBytes: result.parameterBytes };
}

function probeRequest(overrides: Partial<ProbeRequest>): ProbeRequest {
  return { unit: 'sequences', batchSize: 4, ...MEASURE_SETTINGS, ...overrides };
}

async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('Expected the call to reject, but it resolved.');
}

async function engineWith(modelBuilder?: () => BuiltModel): Promise<ProfilerEngine> {
  const engine = new ProfilerEngine(ort, modelBuilder ? { buildModel: modelBuilder } : {});
  await engine.initialize('wasm');
  await engine.loadInput({ kind: 'synthetic', options: SYNTHETIC });
  await engine.loadModel('esm2_tiny');
  return engine;
}

beforeAll(() => {
  ort.env.wasm.numThreads = 1;
});

describe('ProfilerEngine on wasm', () => {
  let engine: ProfilerEngine;

  beforeAll(async () => {
    engine = await engineWith();
  });

  it('ProfilerEngine probes a sequence batch', async () => {
    const point = await engine.probe(probeRequest({ unit: 'sequences', batchSize: 4 }));
    const firstFour = LENGTHS_TOKENS.slice(0, 4);

    expect(point.status).toBe('ok');
    // Only a point whose run times stayed noisy on this shared machine carries a message.
    if (!point.unstable) expect(point.message).toBeUndefined();
    expect(point.batchSize).toBe(4);
    expect(point.sequences).toBe(4);
    expect(point.tokens).toBe(firstFour.reduce((total, length) => total + length, 0));
    expect(point.paddedTokens).toBe(4 * Math.max(...firstFour));
    expect(point.runs).toBeGreaterThanOrEqual(3);
    expect(point.runs).toBeLessThanOrEqual(5);
    expect(point.peakBytes).toBeNull();
  });

  it('ProfilerEngine reports consistent timings', async () => {
    const point = await engine.probe(probeRequest({ unit: 'sequences', batchSize: 4 }));
    const medianMs = point.medianMs as number;

    expect(medianMs).toBeGreaterThan(0);
    expect(point.p10Ms).toBeLessThanOrEqual(medianMs);
    expect(point.p90Ms).toBeGreaterThanOrEqual(medianMs);
    expect(point.warmupMs).toBeGreaterThan(0);
    expect(point.sequencesPerSecond).toBeCloseTo((point.sequences * 1000) / medianMs, 6);
    expect(point.tokensPerSecond).toBeCloseTo((point.tokens * 1000) / medianMs, 6);
    expect(point.coefficientOfVariation).toBeGreaterThanOrEqual(0);
    expect(point.relativeStandardError).toBeGreaterThanOrEqual(0);
    expect(['target-error', 'time-cap', 'max-runs']).toContain(point.timingStopReason);
  });

  it('ProfilerEngine counts FLOP/s from the formula', async () => {
    const point = await engine.probe(probeRequest({ unit: 'sequences', batchSize: 4 }));
    const config = getModelConfig('esm2_tiny');
    const lengths = LENGTHS_TOKENS.slice(0, 4);
    const padded = Math.max(...lengths);
    const perToken = (length: number) => 2 * matmulParameterCount(config) + 4 * config.layers * config.hidden * length;
    const realFlops = lengths.reduce((total, length) => total + length * perToken(length), 0);
    const paddedFlops = 4 * padded * perToken(padded);

    expect(point.realFlopsPerSecond).toBeCloseTo((realFlops * 1000) / point.medianMs!, 3);
    expect(point.paddedFlopsPerSecond).toBeCloseTo((paddedFlops * 1000) / point.medianMs!, 3);
    expect(point.paddedFlopsPerSecond!).toBeGreaterThan(point.realFlopsPerSecond!);
    // No matrix-multiply peak is measured on WASM.
    expect(point.peakFlopsFraction).toBeNull();
  });

  it('ProfilerEngine spot-checks one sequence alone', async () => {
    const point = await engine.probe(probeRequest({ unit: 'sequences', batchSize: 4 }));

    expect(point.spotCheck?.row).toBe(0);
    expect(point.spotCheck?.agrees).toBe(true);
    expect(point.spotCheck!.maxAbsDifference).toBeLessThan(1e-4);
    expect(point.spotCheck!.cosineSimilarity).toBeGreaterThan(0.99999);
  });

  it('ProfilerEngine skips the spot check on request', async () => {
    const point = await engine.probe(probeRequest({ unit: 'sequences', batchSize: 2, spotCheck: false }));

    expect(point.status).toBe('ok');
    expect(point.spotCheck).toBeUndefined();
  });

  it('ProfilerEngine repeats sequences past the input', async () => {
    const point = await engine.probe(probeRequest({ unit: 'sequences', batchSize: 15 }));
    const rows = [...LENGTHS_TOKENS, ...LENGTHS_TOKENS.slice(0, 3)];

    expect(point.status).toBe('ok');
    expect(point.sequences).toBe(15);
    expect(point.tokens).toBe(rows.reduce((total, length) => total + length, 0));
  });

  it('ProfilerEngine probes a token budget', async () => {
    const point = await engine.probe(probeRequest({ unit: 'tokens', batchSize: 64 }));
    const expected = selectTokenBudgetBatch(LENGTHS_TOKENS, 64);

    expect(point.status).toBe('ok');
    expect(point.batchSize).toBe(64);
    expect(point.sequences).toBe(expected.sequences);
    expect(point.tokens).toBe(expected.tokens);
    expect(point.paddedTokens).toBe(expected.paddedTokens);
    expect(point.paddedTokens).toBeLessThanOrEqual(64);
    expect(point.tokens).toBeLessThanOrEqual(point.paddedTokens);
    expect(point.tokensPerSecond).toBeCloseTo((point.tokens * 1000) / (point.medianMs as number), 6);
  });

  it('ProfilerEngine runs one forward pass', async () => {
    const output = await engine.forward(3);
    const paddedLength = Math.max(...LENGTHS_TOKENS.slice(0, 3));

    expect(output.dims).toEqual([3, paddedLength, TINY_HIDDEN]);
    expect(output.data).toHaveLength(3 * paddedLength * TINY_HIDDEN);
    expect(findInvalidValue(output.data)).toBeNull();
  });

  it('ProfilerEngine returns null GPU bytes on wasm', async () => {
    expect(await engine.liveGpuBytes()).toBeNull();
  });

  it('ProfilerEngine rejects an unknown model', async () => {
    const error = await rejectionOf(engine.loadModel('nope'));

    expect(error.name).toBe('UnknownModelError');
    expect(error.message).toContain('Unknown model id "nope"');
  });

  it('ProfilerEngine rejects a model over the heap', async () => {
    const error = await rejectionOf(engine.loadModel('esm2_t36_3B'));

    expect(error.name).toBe('ModelLoadError');
    expect(error.message).toContain('WebAssembly heap of at most 4.29 GB');
    expect((error as Error & { details: unknown }).details).toEqual({ modelId: 'esm2_t36_3B' });
  });

  it('ProfilerEngine keeps the model after a failed load', async () => {
    await rejectionOf(engine.loadModel('esm2_t36_3B'));

    const point = await engine.probe(probeRequest({ batchSize: 2 }));

    expect(point.status).toBe('ok');
  });
});

describe('ProfilerEngine setup', () => {
  it('ProfilerEngine reports the wasm environment', async () => {
    const environment = await new ProfilerEngine(ort).initialize('wasm');

    expect(environment.backend).toBe('wasm');
    expect(environment.adapter).toBeNull();
    expect(environment.limits).toEqual({});
    expect(environment.features).toEqual([]);
    expect(environment.wasmThreads).toBe(1);
  });

  it('ProfilerEngine describes the loaded model', async () => {
    const engine = new ProfilerEngine(ort);
    await engine.initialize('wasm');

    const loaded = await engine.loadModel('esm2_tiny');

    expect(loaded.report).toEqual({
      id: 'esm2_tiny',
      source: 'builtin',
      parameters: 18_208,
      dtype: 'float32',
      layers: 2,
      hidden: 32,
      heads: 4,
      weights: 'reference architecture, synthetic weights',
    });
    expect(loaded.weightBufferBytes).toBeNull();
    expect(loaded.storageBufferCacheMode).toBe('not applicable (wasm)');
    expect(loaded.buildMs).toBeGreaterThanOrEqual(0);
    expect(loaded.sessionCreateMs).toBeGreaterThanOrEqual(0);
  });

  it('ProfilerEngine summarizes synthetic input', async () => {
    const engine = new ProfilerEngine(ort);
    await engine.initialize('wasm');

    const summary = await engine.loadInput({ kind: 'synthetic', options: SYNTHETIC });
    const residues = LENGTHS_TOKENS.map((length) => length - 2);

    expect(summary.source).toBe('synthetic');
    expect(summary.fileName).toBeUndefined();
    expect(summary.sequenceCount).toBe(12);
    expect(summary.lengthStats.min).toBe(Math.min(...residues));
    expect(summary.lengthStats.max).toBe(Math.max(...residues));
    expect(summary.truncatedCount).toBe(0);
    expect(summary.skippedCount).toBe(0);
    expect(summary.synthetic).toEqual(SYNTHETIC);
    expect(summary.notices).toEqual([]);
  });

  it('ProfilerEngine reads a FASTA Blob', async () => {
    const engine = new ProfilerEngine(ort);
    await engine.initialize('wasm');
    const text = [
      '>upper_1 first protein',
      'MKTAYIAKQRQISFVKSHFSRQ',
      '>lower_2',
      'mktayiakqr',
      '>bad_3',
      'MKT#AYIAK',
      '>stop_4',
      'MKTAYIAKQRQ*',
      '',
    ].join('\n');

    const summary = await engine.loadInput({ kind: 'fasta', file: new Blob([text]), fileName: 'proteins.fasta' });

    expect(summary.source).toBe('fasta');
    expect(summary.fileName).toBe('proteins.fasta');
    expect(summary.synthetic).toBeUndefined();
    expect(summary.sequenceCount).toBe(3);
    expect(summary.skippedCount).toBe(1);
    expect(summary.truncatedCount).toBe(0);
    expect(summary.lengthStats).toEqual({ min: 10, median: 11, max: 22 });
    expect(summary.notices.map((notice) => notice.code)).toEqual(['lowercase-converted', 'invalid-residue']);
    expect(summary.notices[1]).toMatchObject({ recordId: 'bad_3', position: 4 });
  });

  it('ProfilerEngine probes FASTA input', async () => {
    const engine = new ProfilerEngine(ort);
    await engine.initialize('wasm');
    await engine.loadInput({ kind: 'fasta', file: new Blob(['>a\nMKTAYIAKQR\n>b\nmkta\n']), fileName: 'two.fasta' });
    await engine.loadModel('esm2_tiny');

    const point = await engine.probe(probeRequest({ batchSize: 2 }));

    expect(point.status).toBe('ok');
    expect(point.tokens).toBe(12 + 6);
    expect(point.paddedTokens).toBe(2 * 12);
  });

  it('ProfilerEngine rejects a probe without input', async () => {
    const engine = new ProfilerEngine(ort);
    await engine.initialize('wasm');
    await engine.loadModel('esm2_tiny');

    const error = await rejectionOf(engine.probe(probeRequest({})));

    expect(error.name).toBe('NoInputError');
  });

  it('ProfilerEngine rejects a forward pass without input', async () => {
    const engine = new ProfilerEngine(ort);
    await engine.initialize('wasm');

    const error = await rejectionOf(engine.forward(1));

    expect(error.name).toBe('NoInputError');
  });

  it('ProfilerEngine rejects a model load before initialize', async () => {
    const error = await rejectionOf(new ProfilerEngine(ort).loadModel('esm2_tiny'));

    expect(error.name).toBe('NotInitializedError');
  });

  it('ProfilerEngine rejects a probe before a model is loaded', async () => {
    const engine = new ProfilerEngine(ort);
    await engine.initialize('wasm');
    await engine.loadInput({ kind: 'synthetic', options: SYNTHETIC });

    const error = await rejectionOf(engine.probe({ unit: 'sequences', batchSize: 2, warmupRuns: 1, minRuns: 3, maxRuns: 3, maxTimePerPointMs: 0 }));

    expect(error.name).toBe('NoModelError');
  });

  it('ProfilerEngine keeps working after a rejected call', async () => {
    const engine = new ProfilerEngine(ort);
    await engine.initialize('wasm');
    await rejectionOf(engine.loadModel('nope'));

    const summary = await engine.loadInput({ kind: 'synthetic', options: SYNTHETIC });

    expect(summary.sequenceCount).toBe(12);
  });
});

describe('ProfilerEngine with test graphs', () => {
  it('ProfilerEngine marks NaN output invalid-output', async () => {
    const engine = await engineWith(buildNanModel);

    const point = await engine.probe(probeRequest({ batchSize: 4 }));

    expect(point.status).toBe('invalid-output');
    expect(point.message).toContain('The output contains NaN at flat index 0');
    expect(point.runs).toBeGreaterThanOrEqual(3);
    expect(point.medianMs).not.toBeNull();
  });

  it('ProfilerEngine marks all-zero output invalid-output', async () => {
    const engine = await engineWith(buildConstantModel(0));

    const point = await engine.probe(probeRequest({ batchSize: 4 }));

    expect(point.status).toBe('invalid-output');
    expect(point.message).toContain('all zeros');
  });

  it('ProfilerEngine marks constant output invalid-output', async () => {
    const engine = await engineWith(buildConstantModel(3));

    const point = await engine.probe(probeRequest({ batchSize: 4 }));

    expect(point.status).toBe('invalid-output');
    expect(point.message).toContain('the constant 3');
  });

  it('ProfilerEngine flags batching that changes results', async () => {
    const engine = await engineWith(buildBatchMixingModel);

    const point = await engine.probe(probeRequest({ batchSize: 4 }));

    expect(point.status).toBe('ok');
    expect(point.spotCheck?.agrees).toBe(false);
    expect(point.spotCheck!.maxAbsDifference).toBeGreaterThan(point.spotCheck!.tolerance);
    expect(point.message).toContain('Batching changes results');
  });

  it('ProfilerEngine records a failed run as error', async () => {
    const engine = await engineWith(buildFailingModel);

    const point = await engine.probe(probeRequest({ batchSize: 4 }));

    expect(point.status).toBe('error');
    expect(point.message).toContain('Reshape');
    expect(point.runs).toBe(0);
    expect(point.medianMs).toBeNull();
    expect(point.sequencesPerSecond).toBeNull();
    expect(point.sequences).toBe(4);
  });

  it('ProfilerEngine recreates the session after a failure', async () => {
    const engine = await engineWith(buildFailingModel);
    await engine.probe(probeRequest({ batchSize: 4 }));

    const point = await engine.probe(probeRequest({ batchSize: 2 }));

    expect(point.status).toBe('error');
    expect(point.message).toContain('Reshape');
  });
});

describe('findInvalidValue', () => {
  it.each([
    { label: 'finite values', values: [0, -1.5, 3e38, -3e38, Number.MIN_VALUE] },
    { label: 'an empty array', values: [] },
  ])('findInvalidValue accepts $label', ({ values }) => {
    expect(findInvalidValue(Float32Array.from(values))).toBeNull();
  });

  it.each([
    { label: 'NaN', values: [1, 2, Number.NaN, 4], expected: 'The output contains NaN at flat index 2 of 4;' },
    { label: 'Infinity', values: [Infinity, 0], expected: 'The output contains Infinity at flat index 0 of 2;' },
    { label: '-Infinity', values: [0, 0, 0, -Infinity], expected: 'The output contains -Infinity at flat index 3 of 4;' },
    { label: 'a float32 overflow', values: [1, 1e39], expected: 'The output contains Infinity at flat index 1 of 2;' },
    { label: 'the first of several', values: [1, -Infinity, Number.NaN], expected: 'The output contains -Infinity at flat index 1 of 3;' },
  ])('findInvalidValue reports $label', ({ values, expected }) => {
    expect(findInvalidValue(Float32Array.from(values))).toContain(expected);
  });
});
