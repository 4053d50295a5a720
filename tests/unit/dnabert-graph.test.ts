import * as ort from 'onnxruntime-web';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../src/models/build';
import { DNABERT_TOKEN_IDS, getModelConfig, type DnabertConfig } from '../../src/models/catalog';
import { parameterCount } from '../../src/models/counts';
import { alibiBias, alibiSlopes, buildDnabertModel } from '../../src/models/dnabertGraph';
import { buildEsm2Model } from '../../src/models/esm2Graph';
import type { BuiltModel } from '../../src/models/generatedModel';

// onnx-proto is CommonJS; see src/models/onnxBuilder.ts for why the default import is used.
const { onnx } = onnxProto;

const { cls: CLS_ID, sep: SEP_ID, pad: PAD_ID } = DNABERT_TOKEN_IDS;
const TOLERANCE = 1e-4;

/** Opset 17 operators the graph may use, so that both the WASM and WebGPU backends run it. */
const STANDARD_OPS = new Set([
  'Abs', 'Add', 'Cast', 'Constant', 'Div', 'Erf', 'Gather', 'LayerNormalization', 'MatMul', 'Max', 'Mul', 'Range',
  'ReduceSum', 'Reshape', 'Shape', 'Softmax', 'Split', 'Squeeze', 'Sub', 'Transpose', 'Unsqueeze',
]);

/** ALiBi slopes for 12 heads: 2^−1 … 2^−8 for the first 8, then 2^−0.5, 2^−1.5, 2^−2.5, 2^−3.5. */
const SLOPES_12_HEADS = [
  0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625,
  0.7071067811865476, 0.35355339059327373, 0.17677669529663687, 0.08838834764831845,
];

/** ALiBi slopes for dnabert_tiny's 6 heads: 2^−2, 2^−4, 2^−6, 2^−8 for the first 4, then 2^−1, 2^−3. */
const SLOPES_6_HEADS = [0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125];

type Long = { toNumber(): number };
const toNumber = (value: number | Long): number => (typeof value === 'number' ? value : value.toNumber());

/** Reads every initializer back from the model bytes, or from its external data file. */
function readInitializers(built: BuiltModel): Map<string, { dims: number[]; values: Float32Array }> {
  const model = onnx.ModelProto.decode(built.modelBytes);
  const tensors = new Map<string, { dims: number[]; values: Float32Array }>();
  for (const tensor of model.graph?.initializer ?? []) {
    let bytes = tensor.rawData ?? new Uint8Array();
    if (tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
      const entries = new Map((tensor.externalData ?? []).map((entry) => [entry.key, entry.value]));
      const file = built.externalData.find((candidate) => candidate.path === entries.get('location'));
      if (file === undefined) throw new Error(`External data file ${entries.get('location')} of ${tensor.name} is missing.`);
      const offset = Number(entries.get('offset'));
      bytes = file.data.subarray(offset, offset + Number(entries.get('length')));
    }
    // Copying aligns the bytes for the Float32Array view.
    const values = new Float32Array(new Uint8Array(bytes).buffer);
    tensors.set(tensor.name ?? '', { dims: (tensor.dims ?? []).map(toNumber), values });
  }
  return tensors;
}

interface TokenBatch {
  rows: number[][];
  paddedLength: number;
}

function padRows(rows: number[][]): TokenBatch {
  return { rows, paddedLength: Math.max(...rows.map((row) => row.length)) };
}

function feeds(batch: TokenBatch): Record<string, ort.Tensor> {
  const { rows, paddedLength } = batch;
  const ids = new BigInt64Array(rows.length * paddedLength).fill(BigInt(PAD_ID));
  const mask = new BigInt64Array(rows.length * paddedLength);
  rows.forEach((row, r) => {
    row.forEach((id, t) => {
      ids[r * paddedLength + t] = BigInt(id);
      mask[r * paddedLength + t] = 1n;
    });
  });
  const dims = [rows.length, paddedLength];
  return { input_ids: new ort.Tensor('int64', ids, dims), attention_mask: new ort.Tensor('int64', mask, dims) };
}

interface ModelOutputs {
  lastHiddenState: ort.Tensor;
  pooledEmbedding: ort.Tensor;
}

async function runModel(built: BuiltModel, batch: TokenBatch): Promise<ModelOutputs> {
  const session = await ort.InferenceSession.create(built.modelBytes, {
    executionProviders: ['wasm'],
    externalData: built.externalData.length > 0 ? built.externalData : undefined,
  });
  try {
    const outputs = await session.run(feeds(batch));
    return { lastHiddenState: outputs.last_hidden_state, pooledEmbedding: outputs.pooled_embedding };
  } finally {
    await session.release();
  }
}

/** Returns [CLS], `length` DNA token ids (5 to 63, past the special tokens), [SEP]. */
function dnaTokens(length: number, seed: number): number[] {
  const tokens = Array.from({ length }, (_, index) => 5 + ((seed * 11 + index * 17) % 59));
  return [CLS_ID, ...tokens, SEP_ID];
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let index = 0; index < a.length; index += 1) max = Math.max(max, Math.abs(a[index] - b[index]));
  return max;
}

/** Abramowitz and Stegun 7.1.26, absolute error below 1.5e-7. */
function erf(x: number): number {
  const sign = Math.sign(x);
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const polynomial = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
  return sign * (1 - polynomial * Math.exp(-x * x));
}

/**
 * Independent float64 forward pass of a MosaicBERT encoder, written from the architecture description
 * rather than from the graph. Like MosaicBERT, it runs each row on its real tokens only and returns 0 at
 * padded positions: word plus token type 0 embedding and LayerNorm, then post-LayerNorm layers with a
 * fused [q | k | v] projection, ALiBi scores, and a gated GELU feed-forward block. Returns
 * [batch][position][hidden] for every padded position.
 */
function referenceForward(
  config: DnabertConfig,
  slopes: number[],
  weights: Map<string, { values: Float32Array }>,
  batch: TokenBatch,
): number[][][] {
  const { hidden, heads, ffn } = config;
  const headSize = hidden / heads;
  const weight = (name: string): Float32Array => {
    const tensor = weights.get(name);
    if (tensor === undefined) throw new Error(`Missing weight ${name}`);
    return tensor.values;
  };

  const layerNorm = (x: number[], prefix: string): number[] => {
    const gamma = weight(`${prefix}.weight`);
    const beta = weight(`${prefix}.bias`);
    const mean = x.reduce((sum, value) => sum + value, 0) / x.length;
    const variance = x.reduce((sum, value) => sum + (value - mean) ** 2, 0) / x.length;
    return x.map((value, i) => ((value - mean) / Math.sqrt(variance + 1e-12)) * gamma[i] + beta[i]);
  };
  const matmul = (x: number[], matrix: Float32Array, outputSize: number, bias?: Float32Array): number[] => {
    const y = bias === undefined ? new Array<number>(outputSize).fill(0) : Array.from(bias);
    for (let i = 0; i < x.length; i += 1) {
      for (let j = 0; j < outputSize; j += 1) y[j] += x[i] * matrix[i * outputSize + j];
    }
    return y;
  };
  const linear = (x: number[], prefix: string, outputSize: number): number[] =>
    matmul(x, weight(`${prefix}.weight`), outputSize, weight(`${prefix}.bias`));
  const gelu = (value: number): number => 0.5 * value * (1 + erf(value / Math.SQRT2));

  const words = weight('embeddings.word_embeddings.weight');
  const tokenTypeZero = weight('embeddings.token_type_embeddings.weight').subarray(0, hidden);
  return batch.rows.map((row) => {
    let x = row.map((id) => {
      const embedded = Array.from(words.subarray(id * hidden, (id + 1) * hidden), (value, i) => value + tokenTypeZero[i]);
      return layerNorm(embedded, 'embeddings.LayerNorm');
    });

    for (let layer = 0; layer < config.layers; layer += 1) {
      const prefix = `encoder.layer.${layer}`;
      const qkv = x.map((vector) => linear(vector, `${prefix}.attention.self.Wqkv`, 3 * hidden));

      const context = x.map(() => new Array<number>(hidden).fill(0));
      for (let head = 0; head < heads; head += 1) {
        const part = (vector: number[], offset: number): number[] =>
          vector.slice(offset + head * headSize, offset + (head + 1) * headSize);
        for (let i = 0; i < row.length; i += 1) {
          const query = part(qkv[i], 0);
          const scores = qkv.map((vector, j) => {
            const key = part(vector, hidden);
            const dot = key.reduce((sum, value, d) => sum + value * query[d], 0);
            return dot / Math.sqrt(headSize) - slopes[head] * Math.abs(i - j);
          });
          const maxScore = Math.max(...scores);
          const exps = scores.map((score) => Math.exp(score - maxScore));
          const total = exps.reduce((sum, value) => sum + value, 0);
          exps.forEach((e, j) => {
            const value = part(qkv[j], 2 * hidden);
            for (let d = 0; d < headSize; d += 1) context[i][head * headSize + d] += (e / total) * value[d];
          });
        }
      }
      x = x.map((vector, i) => {
        const attention = linear(context[i], `${prefix}.attention.output.dense`, hidden);
        return layerNorm(vector.map((value, d) => value + attention[d]), `${prefix}.attention.output.LayerNorm`);
      });

      x = x.map((vector) => {
        const projected = matmul(vector, weight(`${prefix}.mlp.gated_layers.weight`), 2 * ffn);
        const gated = projected.slice(0, ffn).map((value, k) => gelu(value) * projected[ffn + k]);
        const output = linear(gated, `${prefix}.mlp.wo`, hidden);
        return layerNorm(vector.map((value, d) => value + output[d]), `${prefix}.mlp.layernorm`);
      });
    }

    const padding = Array.from({ length: batch.paddedLength - row.length }, () => new Array<number>(hidden).fill(0));
    return [...x, ...padding];
  });
}

/** Returns the mean over each row's real tokens of a row-major [batch, sequence, hidden] array. */
function maskedMean(data: Float32Array, batch: TokenBatch, hidden: number): number[] {
  const pooled: number[] = [];
  batch.rows.forEach((row, r) => {
    for (let d = 0; d < hidden; d += 1) {
      let sum = 0;
      for (let t = 0; t < row.length; t += 1) sum += data[(r * batch.paddedLength + t) * hidden + d];
      pooled.push(sum / row.length);
    }
  });
  return pooled;
}

beforeAll(() => {
  ort.env.wasm.numThreads = 1;
});

describe('alibiSlopes', () => {
  it('matches hand values for 12 heads', () => {
    const slopes = alibiSlopes(12);
    expect(slopes).toHaveLength(12);
    SLOPES_12_HEADS.forEach((expected, head) => expect(slopes[head], `head ${head}`).toBeCloseTo(expected, 15));
  });

  it('matches hand values for 6 heads', () => {
    const slopes = alibiSlopes(6);
    expect(slopes).toHaveLength(6);
    SLOPES_6_HEADS.forEach((expected, head) => expect(slopes[head], `head ${head}`).toBeCloseTo(expected, 15));
  });

  it('halves per head for 8 heads', () => {
    expect(alibiSlopes(8)).toEqual([0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625]);
  });

  it('gives 2^-8 for one head', () => {
    expect(alibiSlopes(1)).toEqual([0.00390625]);
  });

  it.each([0, -4, 1.5, Number.NaN])('rejects %s heads', (heads) => {
    expect(() => alibiSlopes(heads)).toThrow(RangeError);
  });
});

describe('alibiBias', () => {
  // |i − j| for query i (row) and key j (column) at length 4.
  const DISTANCES_4 = [
    [0, 1, 2, 3],
    [1, 0, 1, 2],
    [2, 1, 0, 1],
    [3, 2, 1, 0],
  ];

  it('matches hand matrices for 12 heads at length 4', () => {
    const bias = alibiBias(12, 4);
    expect(bias).toHaveLength(12 * 4 * 4);
    SLOPES_12_HEADS.forEach((slope, head) => {
      const expected = DISTANCES_4.flat().map((distance) => -slope * distance);
      const actual = bias.subarray(head * 16, (head + 1) * 16);
      expect(maxAbsDifference(actual, expected), `head ${head}`).toBeLessThan(1e-7);
    });
  });

  it('writes head 0 as -0.5·|i − j|', () => {
    const head0 = Array.from(alibiBias(12, 4).subarray(0, 16));
    const expected = [0, -0.5, -1, -1.5, -0.5, 0, -0.5, -1, -1, -0.5, 0, -0.5, -1.5, -1, -0.5, 0];
    expect(maxAbsDifference(head0, expected)).toBe(0);
  });

  it('writes head 8 as -2^-0.5·|i − j|', () => {
    const head8 = Array.from(alibiBias(12, 4).subarray(8 * 16, 9 * 16));
    const s = Math.fround(Math.SQRT1_2);
    const expected = [0, -s, -2 * s, -3 * s, -s, 0, -s, -2 * s, -2 * s, -s, 0, -s, -3 * s, -2 * s, -s, 0].map(Math.fround);
    expect(maxAbsDifference(head8, expected)).toBeLessThan(1e-7);
  });

  it('rejects a negative length', () => {
    expect(() => alibiBias(12, -1)).toThrow(RangeError);
  });
});

describe('dnabert_tiny graph', () => {
  const config = getModelConfig('dnabert_tiny');
  const built = buildDnabertModel(config, { seed: 5 });
  // Three rows of different lengths, so two of them are padded.
  const batch = padRows([dnaTokens(9, 1), dnaTokens(4, 2), dnaTokens(1, 3)]);
  let outputs: ModelOutputs;

  beforeAll(async () => {
    outputs = await runModel(built, batch);
  });

  it('counts the catalog parameters', () => {
    expect(built.parameterCount).toBe(config.parameters);
    expect(built.parameterCount).toBe(parameterCount(config));
    expect(built.weightBytes).toBe(config.parameters * 4);
    expect(built.externalData).toEqual([]);
  });

  it('stores only parameters as initializers', () => {
    let elements = 0;
    for (const tensor of readInitializers(built).values()) {
      const size = tensor.dims.reduce((total, dim) => total * dim, 1);
      expect(tensor.values).toHaveLength(size);
      elements += size;
    }
    expect(elements).toBe(config.parameters);
  });

  it('has biases on every linear except gated_layers', () => {
    const names = new Set(readInitializers(built).keys());
    for (let layer = 0; layer < config.layers; layer += 1) {
      const prefix = `encoder.layer.${layer}`;
      expect(names).toContain(`${prefix}.attention.self.Wqkv.bias`);
      expect(names).toContain(`${prefix}.attention.output.dense.bias`);
      expect(names).toContain(`${prefix}.mlp.wo.bias`);
      expect(names).toContain(`${prefix}.mlp.gated_layers.weight`);
      expect(names).not.toContain(`${prefix}.mlp.gated_layers.bias`);
    }
    expect(names).not.toContain('embeddings.position_embeddings.weight');
  });

  it('uses only standard opset 17 ops', () => {
    const model = onnx.ModelProto.decode(built.modelBytes);
    expect(model.opsetImport.map((entry) => [entry.domain, toNumber(entry.version)])).toEqual([['', 17]]);
    for (const node of model.graph?.node ?? []) {
      expect(node.domain ?? '').toBe('');
      expect(STANDARD_OPS, `unexpected op ${node.opType}`).toContain(node.opType);
    }
  });

  it('declares symbolic batch and sequence dims', () => {
    const graph = onnx.ModelProto.decode(built.modelBytes).graph;
    const dimsOf = (info: onnxProto.onnx.IValueInfoProto) =>
      info.type?.tensorType?.shape?.dim?.map((dim) => dim.dimParam || toNumber(dim.dimValue ?? 0));
    expect(graph?.input?.map((input) => [input.name, dimsOf(input)])).toEqual([
      ['input_ids', ['batch', 'sequence']],
      ['attention_mask', ['batch', 'sequence']],
    ]);
    expect(graph?.output?.map((output) => [output.name, dimsOf(output)])).toEqual([
      ['last_hidden_state', ['batch', 'sequence', config.hidden]],
      ['pooled_embedding', ['batch', config.hidden]],
    ]);
  });

  it('returns finite outputs of the declared shapes', () => {
    expect(outputs.lastHiddenState.dims).toEqual([3, batch.paddedLength, config.hidden]);
    expect(outputs.lastHiddenState.type).toBe('float32');
    expect((outputs.lastHiddenState.data as Float32Array).every(Number.isFinite)).toBe(true);
    expect(outputs.pooledEmbedding.dims).toEqual([3, config.hidden]);
    expect(outputs.pooledEmbedding.type).toBe('float32');
    expect((outputs.pooledEmbedding.data as Float32Array).every(Number.isFinite)).toBe(true);
  });

  it('matches an independent reference forward pass', () => {
    const expected = referenceForward(config, SLOPES_6_HEADS, readInitializers(built), batch).flat(2);
    expect(maxAbsDifference(outputs.lastHiddenState.data as Float32Array, expected)).toBeLessThan(TOLERANCE);
  });

  it('zeroes padded positions', () => {
    const data = outputs.lastHiddenState.data as Float32Array;
    batch.rows.forEach((row, r) => {
      const start = (r * batch.paddedLength + row.length) * config.hidden;
      const end = (r + 1) * batch.paddedLength * config.hidden;
      expect(data.subarray(start, end).every((value) => value === 0), `row ${r}`).toBe(true);
    });
  });

  it('pools the masked mean of last_hidden_state', () => {
    const expected = maskedMean(outputs.lastHiddenState.data as Float32Array, batch, config.hidden);
    expect(maxAbsDifference(outputs.pooledEmbedding.data as Float32Array, expected)).toBeLessThan(1e-6);
  });

  it('gives padded rows the same real-token outputs as unpadded runs', async () => {
    const data = outputs.lastHiddenState.data as Float32Array;
    const pooled = outputs.pooledEmbedding.data as Float32Array;
    for (const [index, row] of batch.rows.entries()) {
      const alone = await runModel(built, padRows([row]));
      const rowStart = index * batch.paddedLength * config.hidden;
      const realTokens = data.subarray(rowStart, rowStart + row.length * config.hidden);
      expect(maxAbsDifference(realTokens, alone.lastHiddenState.data as Float32Array), `row ${index}`).toBeLessThan(TOLERANCE);
      const pooledRow = pooled.subarray(index * config.hidden, (index + 1) * config.hidden);
      expect(maxAbsDifference(pooledRow, alone.pooledEmbedding.data as Float32Array), `pooled row ${index}`).toBeLessThan(TOLERANCE);
    }
  });

  it('runs past the catalog maxTokens', async () => {
    // ALiBi is computed from the run's length, so no table limits the sequence.
    const long = padRows([dnaTokens(config.maxTokens + 100, 4)]);
    const result = await runModel(built, long);
    expect(result.lastHiddenState.dims).toEqual([1, config.maxTokens + 102, config.hidden]);
    expect((result.lastHiddenState.data as Float32Array).every(Number.isFinite)).toBe(true);
  });

  it('pools an all-padding row to zeros', async () => {
    const result = await runModel(built, padRows([dnaTokens(3, 5), []]));
    const pooled = result.pooledEmbedding.data as Float32Array;
    expect(pooled.subarray(config.hidden).every((value) => value === 0)).toBe(true);
  });

  it('builds the same bytes from the same seed', () => {
    const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));
    expect(sameBytes(buildDnabertModel(config, { seed: 5 }).modelBytes, built.modelBytes)).toBe(true);
    expect(sameBytes(buildDnabertModel(config, { seed: 6 }).modelBytes, built.modelBytes)).toBe(false);
  });

  it('runs from an external data file', async () => {
    const external = buildDnabertModel(config, { seed: 5, externalDataThresholdBytes: 1024 });
    expect(external.externalData.map((file) => file.path)).toEqual(['dnabert_tiny.weights.bin']);
    const result = await runModel(external, batch);
    expect(maxAbsDifference(result.lastHiddenState.data as Float32Array, outputs.lastHiddenState.data as Float32Array)).toBe(0);
  });
});

describe('buildDnabertModel validation', () => {
  const base = getModelConfig('dnabert_tiny');

  it('rejects a hidden size not divisible by heads', () => {
    expect(() => buildDnabertModel({ ...base, heads: 5 })).toThrow(/not a multiple of 5 heads/);
  });

  it('rejects a vocabulary without the special tokens', () => {
    expect(() => buildDnabertModel({ ...base, vocabSize: 4 })).toThrow(/no id 4 for \[MASK\]/);
  });

  it('rejects zero layers', () => {
    expect(() => buildDnabertModel({ ...base, layers: 0 })).toThrow(RangeError);
  });
});

describe('buildModel', () => {
  const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

  it('builds DNABERT configs with buildDnabertModel', () => {
    const config = getModelConfig('dnabert_tiny');
    expect(sameBytes(buildModel(config, { seed: 2 }).modelBytes, buildDnabertModel(config, { seed: 2 }).modelBytes)).toBe(true);
  });

  it('builds ESM-2 configs with buildEsm2Model', () => {
    const config = getModelConfig('esm2_tiny');
    expect(sameBytes(buildModel(config, { seed: 2 }).modelBytes, buildEsm2Model(config, { seed: 2 }).modelBytes)).toBe(true);
  });
});

describe('dnabert_s graph', () => {
  const timings: Record<string, number> = {};

  afterAll(() => {
    console.info(`dnabert_s on Node WASM, 1 thread: ${JSON.stringify(timings)}`);
  });

  it('builds with the exact parameter count', () => {
    const config = getModelConfig('dnabert_s');
    const buildStart = performance.now();
    const built = buildDnabertModel(config);
    timings.buildMs = Math.round(performance.now() - buildStart);
    timings.modelBytes = built.modelBytes.length;

    expect(built.parameterCount).toBe(116_477_952);
    expect(built.weightBytes).toBe(116_477_952 * 4);
    expect(built.externalData).toEqual([]);
  });
});
