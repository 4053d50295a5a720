import * as ort from 'onnxruntime-web';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getModelConfig, type Esm2Config } from '../../src/models/catalog';
import { parameterCount } from '../../src/models/counts';
import { ROTARY_COS_NAME, ROTARY_SIN_NAME, ROTARY_TABLE_POSITIONS, buildEsm2Model, type BuiltModel } from '../../src/models/esm2Graph';

// onnx-proto is CommonJS; see src/models/onnxBuilder.ts for why the default import is used.
const { onnx } = onnxProto;

const BOS_ID = 0;
const PAD_ID = 1;
const EOS_ID = 2;
const MASK_ID = 32;
const TOLERANCE = 1e-4;

/** Opset 17 operators the graph may use, so that both the WASM and WebGPU backends run it. */
const STANDARD_OPS = new Set([
  'Add', 'Cast', 'Concat', 'Constant', 'Div', 'Equal', 'Erf', 'Gather', 'LayerNormalization', 'MatMul', 'Max', 'Mul',
  'Neg', 'ReduceSum', 'Reshape', 'Shape', 'Slice', 'Softmax', 'Split', 'Sub', 'Transpose', 'Unsqueeze',
]);

type Long = { toNumber(): number };
const toNumber = (value: number | Long): number => (typeof value === 'number' ? value : value.toNumber());

interface DecodedTensor {
  dims: number[];
  values: Float32Array;
  external: boolean;
}

/** Decodes the model's initializers, reading external ones from the model's external data file. */
function decodeInitializers(built: BuiltModel): Map<string, DecodedTensor> {
  const model = onnx.ModelProto.decode(built.modelBytes);
  const tensors = new Map<string, DecodedTensor>();
  for (const tensor of model.graph?.initializer ?? []) {
    const dims = (tensor.dims ?? []).map(toNumber);
    const external = tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL;
    let bytes: Uint8Array;
    if (external) {
      const entries = new Map((tensor.externalData ?? []).map((entry) => [entry.key, entry.value]));
      const file = built.externalData.find((candidate) => candidate.path === entries.get('location'));
      if (file === undefined) throw new Error(`External data file ${entries.get('location')} of ${tensor.name} is missing.`);
      const offset = Number(entries.get('offset'));
      bytes = file.data.subarray(offset, offset + Number(entries.get('length')));
    } else {
      bytes = tensor.rawData ?? new Uint8Array();
    }
    // Copying aligns the bytes for the Float32Array view.
    tensors.set(tensor.name ?? '', { dims, values: new Float32Array(new Uint8Array(bytes).buffer), external });
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

async function runModel(built: BuiltModel, batch: TokenBatch): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(built.modelBytes, {
    executionProviders: ['wasm'],
    externalData: built.externalData.length > 0 ? built.externalData : undefined,
  });
  try {
    const outputs = await session.run(feeds(batch));
    return outputs.last_hidden_state;
  } finally {
    await session.release();
  }
}

/** Returns the token ids of a protein with `length` residues (ids 4 to 28) between BOS and EOS. */
function protein(length: number, seed: number): number[] {
  const residues = Array.from({ length }, (_, index) => 4 + ((seed * 7 + index * 13) % 25));
  return [BOS_ID, ...residues, EOS_ID];
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
 * Independent float64 forward pass of the ESM-2 encoder, written from the architecture description
 * rather than from the graph: token dropout scaling, pre-LayerNorm layers, rotary q/k, masked softmax,
 * exact GELU and the final LayerNorm. Returns [batch][position][hidden] for every padded position.
 */
function referenceForward(config: Esm2Config, weights: Map<string, DecodedTensor>, batch: TokenBatch): number[][][] {
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
    return x.map((value, i) => ((value - mean) / Math.sqrt(variance + 1e-5)) * gamma[i] + beta[i]);
  };
  const linear = (x: number[], prefix: string, outputSize: number): number[] => {
    const matrix = weight(`${prefix}.weight`);
    const bias = weight(`${prefix}.bias`);
    const y = Array.from(bias);
    for (let i = 0; i < x.length; i += 1) {
      for (let j = 0; j < outputSize; j += 1) y[j] += x[i] * matrix[i * outputSize + j];
    }
    return y;
  };
  const rotate = (vector: number[], position: number): number[] => {
    const half = headSize / 2;
    return vector.map((value, i) => {
      const frequencyIndex = i % half;
      const angle = position / 10000 ** ((2 * frequencyIndex) / headSize);
      const rotatedHalf = i < half ? -vector[i + half] : vector[i - half];
      return value * Math.cos(angle) + rotatedHalf * Math.sin(angle);
    });
  };

  const embedding = weight('embed_tokens.weight');
  return batch.rows.map((row) => {
    const length = batch.paddedLength;
    const ids = Array.from({ length }, (_, t) => (t < row.length ? row[t] : PAD_ID));
    const maskTokens = row.filter((id) => id === MASK_ID).length;
    const scale = 0.88 / (1 - maskTokens / row.length);
    let x = ids.map((id, t) => {
      const keep = t < row.length && id !== MASK_ID ? scale : 0;
      return Array.from(embedding.subarray(id * hidden, (id + 1) * hidden), (value) => value * keep);
    });

    for (let layer = 0; layer < config.layers; layer += 1) {
      const prefix = `layers.${layer}`;
      const normed = x.map((vector) => layerNorm(vector, `${prefix}.self_attn_layer_norm`));
      const q = normed.map((vector) => linear(vector, `${prefix}.self_attn.q_proj`, hidden).map((value) => value / Math.sqrt(headSize)));
      const k = normed.map((vector) => linear(vector, `${prefix}.self_attn.k_proj`, hidden));
      const v = normed.map((vector) => linear(vector, `${prefix}.self_attn.v_proj`, hidden));

      const context = x.map(() => new Array<number>(hidden).fill(0));
      for (let head = 0; head < heads; head += 1) {
        const slice = (vector: number[]): number[] => vector.slice(head * headSize, (head + 1) * headSize);
        const queries = q.map((vector, t) => rotate(slice(vector), t));
        const keys = k.map((vector, t) => rotate(slice(vector), t));
        for (let t = 0; t < length; t += 1) {
          // Padded keys get no weight, the same as a -1e9 score bias in float32.
          const scores = keys.slice(0, row.length).map((key) => key.reduce((sum, value, i) => sum + value * queries[t][i], 0));
          const maxScore = Math.max(...scores);
          const exps = scores.map((score) => Math.exp(score - maxScore));
          const total = exps.reduce((sum, value) => sum + value, 0);
          for (let s = 0; s < exps.length; s += 1) {
            const valueHead = slice(v[s]);
            for (let i = 0; i < headSize; i += 1) context[t][head * headSize + i] += (exps[s] / total) * valueHead[i];
          }
        }
      }
      x = x.map((vector, t) => {
        const attention = linear(context[t], `${prefix}.self_attn.out_proj`, hidden);
        return vector.map((value, i) => value + attention[i]);
      });

      x = x.map((vector) => {
        const inner = linear(layerNorm(vector, `${prefix}.final_layer_norm`), `${prefix}.fc1`, ffn);
        const activated = inner.map((value) => 0.5 * value * (1 + erf(value / Math.SQRT2)));
        const output = linear(activated, `${prefix}.fc2`, hidden);
        return vector.map((value, i) => value + output[i]);
      });
    }
    return x.map((vector) => layerNorm(vector, 'emb_layer_norm_after'));
  });
}

beforeAll(() => {
  ort.env.wasm.numThreads = 1;
});

describe('esm2_tiny graph', () => {
  const config = getModelConfig('esm2_tiny');
  const headSize = config.hidden / config.heads;
  const built = buildEsm2Model(config, { seed: 7 });
  // Three proteins of different lengths; the second contains a <mask> token to exercise token dropout.
  const batch = padRows([protein(8, 1), [...protein(5, 2).slice(0, 3), MASK_ID, ...protein(5, 2).slice(4)], protein(2, 3)]);
  let output: ort.Tensor;

  beforeAll(async () => {
    output = await runModel(built, batch);
  });

  it('counts the published parameters', () => {
    expect(built.parameterCount).toBe(config.parameters);
    expect(built.weightBytes).toBe(config.parameters * 4);
    expect(built.externalData).toEqual([]);
  });

  it('stores parameters plus rotary tables as initializers', () => {
    const initializers = decodeInitializers(built);
    let parameters = 0;
    let tables = 0;
    for (const [name, tensor] of initializers) {
      const elements = tensor.dims.reduce((total, dim) => total * dim, 1);
      expect(tensor.values.length).toBe(elements);
      if (name === ROTARY_COS_NAME || name === ROTARY_SIN_NAME) tables += elements;
      else parameters += elements;
    }
    expect(parameters).toBe(config.parameters);
    expect(tables).toBe(2 * ROTARY_TABLE_POSITIONS * headSize);
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
    expect(graph?.output?.map((out) => [out.name, dimsOf(out)])).toEqual([['last_hidden_state', ['batch', 'sequence', config.hidden]]]);
  });

  it('returns [batch, sequence, hidden] finite values', () => {
    expect(output.dims).toEqual([3, batch.paddedLength, config.hidden]);
    expect(output.type).toBe('float32');
    expect((output.data as Float32Array).every(Number.isFinite)).toBe(true);
  });

  it('matches an independent reference forward pass', () => {
    const expected = referenceForward(config, decodeInitializers(built), batch).flat(2);
    expect(maxAbsDifference(output.data as Float32Array, expected)).toBeLessThan(TOLERANCE);
  });

  it('gives padded rows the same real-token outputs as unpadded runs', async () => {
    const data = output.data as Float32Array;
    for (const [index, row] of batch.rows.entries()) {
      const alone = await runModel(built, padRows([row]));
      const rowStart = index * batch.paddedLength * config.hidden;
      const realTokens = data.subarray(rowStart, rowStart + row.length * config.hidden);
      expect(maxAbsDifference(realTokens, alone.data as Float32Array), `row ${index}`).toBeLessThan(TOLERANCE);
    }
  });

  it('builds the same bytes from the same seed', () => {
    // Buffer.equals compares the bytes natively; toEqual on 150 kB takes seconds.
    const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));
    expect(sameBytes(buildEsm2Model(config, { seed: 7 }).modelBytes, built.modelBytes)).toBe(true);
    expect(sameBytes(buildEsm2Model(config, { seed: 8 }).modelBytes, built.modelBytes)).toBe(false);
  });

  it('zeroes the padding row of the embedding', () => {
    const embedding = decodeInitializers(built).get('embed_tokens.weight')?.values;
    expect(embedding?.subarray(PAD_ID * config.hidden, (PAD_ID + 1) * config.hidden).every((value) => value === 0)).toBe(true);
  });
});

describe('external data', () => {
  const config = getModelConfig('esm2_tiny');
  const embedded = buildEsm2Model(config, { seed: 3 });
  const external = buildEsm2Model(config, { seed: 3, externalDataThresholdBytes: 1024 });

  it('moves every initializer into one weights file', () => {
    expect(external.externalData.map((file) => file.path)).toEqual(['esm2_tiny.weights.bin']);
    const initializers = decodeInitializers(external);
    expect([...initializers.values()].every((tensor) => tensor.external)).toBe(true);
    expect(external.modelBytes.length).toBeLessThan(embedded.modelBytes.length / 4);
    expect(external.parameterCount).toBe(embedded.parameterCount);
  });

  it('stores the same weights as the embedded model', () => {
    const embeddedWeights = decodeInitializers(embedded);
    for (const [name, tensor] of decodeInitializers(external)) {
      expect(tensor.values, name).toEqual(embeddedWeights.get(name)?.values);
    }
  });

  it('runs to the same output as the embedded model', async () => {
    const batch = padRows([protein(6, 4), protein(3, 5)]);
    const fromEmbedded = await runModel(embedded, batch);
    const fromExternal = await runModel(external, batch);
    expect(fromExternal.dims).toEqual(fromEmbedded.dims);
    expect(maxAbsDifference(fromExternal.data as Float32Array, fromEmbedded.data as Float32Array)).toBe(0);
  });
});

describe('esm2_t6_8M graph', () => {
  const timings: Record<string, number> = {};

  afterAll(() => {
    console.info(`esm2_t6_8M on Node WASM, 1 thread: ${JSON.stringify(timings)}`);
  });

  it('builds and runs a batch of 2 × 64 tokens', async () => {
    const config = getModelConfig('esm2_t6_8M');

    const buildStart = performance.now();
    const built = buildEsm2Model(config);
    timings.buildMs = Math.round(performance.now() - buildStart);
    expect(built.parameterCount).toBe(parameterCount(config));
    expect(built.externalData).toEqual([]);

    const sessionStart = performance.now();
    const session = await ort.InferenceSession.create(built.modelBytes, { executionProviders: ['wasm'] });
    timings.sessionCreateMs = Math.round(performance.now() - sessionStart);
    try {
      const batch = padRows([protein(62, 1), protein(40, 2)]);
      const runStart = performance.now();
      const outputs = await session.run(feeds(batch));
      timings.runMs = Math.round(performance.now() - runStart);

      const output = outputs.last_hidden_state;
      expect(output.dims).toEqual([2, 64, config.hidden]);
      expect((output.data as Float32Array).every(Number.isFinite)).toBe(true);
    } finally {
      await session.release();
    }
  });
});
