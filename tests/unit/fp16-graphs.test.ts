import * as ort from 'onnxruntime-web';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel, type BuiltModel } from '../../src/models/build';
import { DNABERT_TOKEN_IDS, getModelConfig, type ModelConfig } from '../../src/models/catalog';
import { weightBytes } from '../../src/models/counts';
import { ROTARY_COS_NAME, ROTARY_SIN_NAME, ROTARY_TABLE_POSITIONS } from '../../src/models/esm2Graph';
import {
  FLOAT16_MAX,
  float16BitsToNumber,
  float16ToFloat32Array,
  float32ArrayToFloat16Bits,
  float32ToFloat16Bits,
} from '../../src/models/float16';
import { PADDING_SCORE_BIAS, addLayerNorm } from '../../src/models/layers';
import { DATA_TYPES, OnnxGraphBuilder, attr } from '../../src/models/onnxBuilder';
import { compareEmbeddings } from '../../src/profiling/drift';
import { createRng } from '../../src/sequences/random';

// onnx-proto is CommonJS, so the default import is used (src/models/onnxBuilder.ts explains why).
const { onnx } = onnxProto;
const { FLOAT, FLOAT16, INT64 } = onnx.TensorProto.DataType;

/**
 * Lowest cosine similarity accepted between float16 and float32 embeddings: per sequence for the pooled
 * embeddings, and over all real tokens. Weights rounded to float16 carry a relative error of at most 2⁻¹¹
 * each, and LayerNorm keeps the hidden states near unit scale, so the vectors stay far closer than this.
 * NOTE: this bound, and the measured drift, hold for the WASM backend only. Its CPU kernels run most
 * float16 nodes in float32: onnxruntime's CastFloat16Transformer wraps them in Casts, and the Cast pairs
 * between two such nodes are removed. So the drift here mostly comes from rounding the weights,
 * constants and outputs, and WebGPU's float16 shaders, which round every intermediate, will drift more.
 */
const MIN_COSINE = 0.999;
/**
 * Largest |float16 − float32| accepted for one hidden-state value. Rounding the output alone costs up
 * to half a float16 step, 2⁻⁸ ≈ 0.004 for LayerNorm outputs between 4 and 8.
 */
const MAX_TOKEN_ABS_DIFFERENCE = 1e-2;

type Long = { toNumber(): number };
const toNumber = (value: number | Long): number => (typeof value === 'number' ? value : value.toNumber());

const ESM_IDS = { cls: 0, pad: 1, eos: 2, mask: 32 };

interface TokenBatch {
  rows: number[][];
  paddedLength: number;
  padId: number;
}

/** Pads `rows` to the longest. An empty row is all padding. */
function padRows(rows: number[][], padId: number): TokenBatch {
  return { rows, padId, paddedLength: Math.max(1, ...rows.map((row) => row.length)) };
}

function feeds(batch: TokenBatch): Record<string, ort.Tensor> {
  const { rows, paddedLength, padId } = batch;
  const ids = new BigInt64Array(rows.length * paddedLength).fill(BigInt(padId));
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

interface HiddenStates {
  /** Element type that the model returned. */
  type: string;
  dims: readonly number[];
  /** The output as float32, converted exactly from float16 bits where the model returned float16. */
  values: Float32Array;
}

/** Runs `built` on the WASM backend and returns its `last_hidden_state`. */
async function runLastHiddenState(built: BuiltModel, batch: TokenBatch): Promise<HiddenStates> {
  const session = await ort.InferenceSession.create(built.modelBytes, {
    executionProviders: ['wasm'],
    externalData: built.externalData.length > 0 ? built.externalData : undefined,
  });
  try {
    const output = (await session.run(feeds(batch))).last_hidden_state;
    const values = output.type === 'float16' ? float16ToFloat32Array(output.data as Uint16Array) : (output.data as Float32Array);
    return { type: output.type, dims: output.dims, values };
  } finally {
    await session.release();
  }
}

/** Returns, per row, the mean of the hidden states over its real tokens, summed in float64. */
function meanPool(hiddenStates: Float32Array, batch: TokenBatch, hidden: number): Float32Array[] {
  return batch.rows.map((row, r) => {
    const sums = new Float64Array(hidden);
    for (let t = 0; t < row.length; t += 1) {
      const offset = (r * batch.paddedLength + t) * hidden;
      for (let i = 0; i < hidden; i += 1) sums[i] += hiddenStates[offset + i];
    }
    return Float32Array.from(sums, (sum) => sum / Math.max(1, row.length));
  });
}

/** Returns ESM-2 token ids: `<cls>`, `length` residues (ids 4 to 28), `<eos>`. */
function protein(length: number, seed: number): number[] {
  const residues = Array.from({ length }, (_, index) => 4 + ((seed * 7 + index * 13) % 25));
  return [ESM_IDS.cls, ...residues, ESM_IDS.eos];
}

/** Returns DNABERT token ids: [CLS], `length` ids from 5 to vocabSize − 1, [SEP]. */
function dnaTokens(length: number, seed: number, vocabSize: number): number[] {
  const tokens = Array.from({ length }, (_, index) => 5 + ((seed * 11 + index * 17) % (vocabSize - 5)));
  return [DNABERT_TOKEN_IDS.cls, ...tokens, DNABERT_TOKEN_IDS.sep];
}

/** Returns four rows of different lengths for `config`'s family, so that three are padded. */
function mixedBatch(config: ModelConfig): TokenBatch {
  if (config.family === 'esm2') return padRows([protein(40, 1), protein(23, 2), protein(9, 3), protein(1, 4)], ESM_IDS.pad);
  const vocab = config.vocabSize;
  return padRows([dnaTokens(40, 1, vocab), dnaTokens(23, 2, vocab), dnaTokens(9, 3, vocab), dnaTokens(1, 4, vocab)], DNABERT_TOKEN_IDS.pad);
}

interface DecodedInitializer {
  dataType: number;
  dims: number[];
  bytes: Uint8Array;
}

/** Reads every initializer's type, dims and raw bytes, from the model or from its external data file. */
function readInitializers(built: BuiltModel): Map<string, DecodedInitializer> {
  const model = onnx.ModelProto.decode(built.modelBytes);
  const tensors = new Map<string, DecodedInitializer>();
  for (const tensor of model.graph?.initializer ?? []) {
    let bytes = tensor.rawData ?? new Uint8Array();
    if (tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
      const entries = new Map((tensor.externalData ?? []).map((entry) => [entry.key, entry.value]));
      const file = built.externalData.find((candidate) => candidate.path === entries.get('location'));
      if (file === undefined) throw new Error(`External data file ${entries.get('location')} of ${tensor.name} is missing.`);
      const offset = Number(entries.get('offset'));
      bytes = file.data.subarray(offset, offset + Number(entries.get('length')));
    }
    // Copying aligns the bytes for typed array views.
    tensors.set(tensor.name ?? '', { dataType: tensor.dataType ?? 0, dims: (tensor.dims ?? []).map(toNumber), bytes: new Uint8Array(bytes) });
  }
  return tensors;
}

function elementCount(dims: number[]): number {
  return dims.reduce((total, dim) => total * dim, 1);
}

function bitsOf(value: number): string {
  return `0x${float32ToFloat16Bits(value).toString(16).padStart(4, '0')}`;
}

beforeAll(() => {
  ort.env.wasm.numThreads = 1;
});

describe('float32ToFloat16Bits', () => {
  it.each([
    ['zero', 0, 0x0000],
    ['negative zero', -0, 0x8000],
    ['one', 1, 0x3c00],
    ['minus two', -2, 0xc000],
    ['0.1, rounded down', 0.1, 0x2e66],
    ['1/3, rounded down', 1 / 3, 0x3555],
    ['pi, rounded down', Math.PI, 0x4248],
    ['the largest finite value', FLOAT16_MAX, 0x7bff],
    ['just below the overflow midpoint', 65_519.99, 0x7bff],
    ['the overflow midpoint 65520, a tie to even', 65_520, 0x7c00],
    ['an overflow', 1e9, 0x7c00],
    ['a negative overflow', -1e9, 0xfc00],
    ['Infinity', Infinity, 0x7c00],
    ['-Infinity', -Infinity, 0xfc00],
    ['the smallest normal', 2 ** -14, 0x0400],
    ['the largest subnormal', 1023 * 2 ** -24, 0x03ff],
    ['the smallest subnormal', 2 ** -24, 0x0001],
    ['a tie between 0 and the smallest subnormal', 2 ** -25, 0x0000],
    ['a negative tie at the smallest subnormal', -(2 ** -25), 0x8000],
    ['just above that tie', 2 ** -25 * (1 + 2 ** -20), 0x0001],
    ['a subnormal tie 1.5 · 2⁻²⁴, to even', 1.5 * 2 ** -24, 0x0002],
    ['a subnormal tie 2.5 · 2⁻²⁴, to even', 2.5 * 2 ** -24, 0x0002],
    ['a value far below the subnormals', 2 ** -30, 0x0000],
    ['a float32 subnormal', 1e-45, 0x0000],
    ['a tie at 1 + 2⁻¹¹, to even', 1 + 2 ** -11, 0x3c00],
    ['a tie at 1 + 3 · 2⁻¹¹, to even', 1 + 3 * 2 ** -11, 0x3c02],
    ['just above a tie', 1 + 2 ** -11 + 2 ** -20, 0x3c01],
    ['a tie that carries into the exponent', 2 - 2 ** -11, 0x4000],
    ['the float16 padding bias', PADDING_SCORE_BIAS.float16, 0xf0e2],
  ])('converts %s', (_case, value, expectedBits) => {
    expect(bitsOf(value)).toBe(`0x${expectedBits.toString(16).padStart(4, '0')}`);
  });

  it('converts NaN to a NaN', () => {
    const bits = float32ToFloat16Bits(Number.NaN);
    expect(bits & 0x7c00).toBe(0x7c00);
    expect(bits & 0x03ff).not.toBe(0);
    expect(float16BitsToNumber(bits)).toBeNaN();
  });

  it('would turn the float32 padding bias into -Infinity', () => {
    expect(float16BitsToNumber(float32ToFloat16Bits(PADDING_SCORE_BIAS.float32))).toBe(-Infinity);
  });
});

describe('float16 bit conversions', () => {
  const allBits = Uint16Array.from({ length: 0x10000 }, (_, bits) => bits);
  const isNaNBits = (bits: number): boolean => (bits & 0x7c00) === 0x7c00 && (bits & 0x03ff) !== 0;

  it('round-trips every non-NaN float16 value', () => {
    const values = float16ToFloat32Array(allBits);
    const roundTripped = float32ArrayToFloat16Bits(values);
    const mismatches = [...allBits].filter((bits) => !isNaNBits(bits) && roundTripped[bits] !== bits);
    expect(mismatches).toEqual([]);
  });

  it('decodes every NaN pattern to NaN', () => {
    const values = float16ToFloat32Array(allBits);
    const wrong = [...allBits].filter((bits) => isNaNBits(bits) && !Number.isNaN(values[bits]));
    expect(wrong).toEqual([]);
  });

  it('decodes hand-checked values', () => {
    expect(Array.from(float16ToFloat32Array(Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0x7c00, 0x8000)))).toEqual([
      1,
      -2,
      65_504,
      2 ** -24,
      2 ** -14,
      Infinity,
      -0,
    ]);
  });

  it('rejects a target of another length', () => {
    expect(() => float32ArrayToFloat16Bits(new Float32Array(3), new Uint16Array(2))).toThrow(RangeError);
  });

  it('matches the Cast of onnxruntime-web on 200,000 values', async () => {
    // Random bit patterns cover every exponent, and the scaled normals cover the rounding of typical weights.
    const rng = createRng(11);
    const values = new Float32Array(200_000);
    const valueBits = new Uint32Array(values.buffer);
    for (let i = 0; i < values.length; i += 1) {
      if (i % 2 === 0) valueBits[i] = Math.floor(rng() * 2 ** 32);
      else values[i] = (rng() - 0.5) * 2 ** Math.floor(rng() * 40 - 26);
    }

    const builder = new OnnxGraphBuilder();
    const input = builder.addInput('values', 'float32', ['count']);
    builder.op('Cast', [input], { to: attr.int(DATA_TYPES.float16) }, 'bits');
    builder.addOutput('bits', 'float16', ['count']);
    const session = await ort.InferenceSession.create(builder.build({ graphName: 'cast' }).modelBytes, { executionProviders: ['wasm'] });
    let expected: Uint16Array;
    try {
      expected = (await session.run({ values: new ort.Tensor('float32', values, [values.length]) })).bits.data as Uint16Array;
    } finally {
      await session.release();
    }

    const actual = float32ArrayToFloat16Bits(values);
    const mismatches: string[] = [];
    for (let i = 0; i < values.length; i += 1) {
      const bothNaN = isNaNBits(actual[i]) && isNaNBits(expected[i]);
      if (actual[i] !== expected[i] && !bothNaN) mismatches.push(`${values[i]}: 0x${actual[i].toString(16)} != 0x${expected[i].toString(16)}`);
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
  });
});

describe('float16 LayerNormalization', () => {
  it('keeps epsilon 1e-12 on a constant row', async () => {
    // A constant row has variance 0, so the output is 0 · 1/√epsilon: 0 with epsilon 1e-12, NaN with 0.
    const hidden = 8;
    const builder = new OnnxGraphBuilder({ floatType: 'float16' });
    const input = builder.addInput('x', 'float16', [1, hidden]);
    addLayerNorm(builder, 'norm', input, hidden, 1e-12, 'y');
    builder.addOutput('y', 'float16', [1, hidden]);
    const session = await ort.InferenceSession.create(builder.build({ graphName: 'layer_norm' }).modelBytes, { executionProviders: ['wasm'] });
    try {
      const constantRow = new Uint16Array(hidden).fill(float32ToFloat16Bits(0.5));
      const output = (await session.run({ x: new ort.Tensor('float16', constantRow, [1, hidden]) })).y;
      const values = Array.from(float16ToFloat32Array(output.data as Uint16Array));
      expect(values.every((value) => value === 0), `output ${values.join(', ')}`).toBe(true);
    } finally {
      await session.release();
    }
  });
});

describe('compareEmbeddings', () => {
  it('gives 0 and 1 for equal vectors', () => {
    expect(compareEmbeddings(Float32Array.of(1, -2, 3), Float32Array.of(1, -2, 3))).toEqual({ maxAbsDifference: 0, cosineSimilarity: 1 });
  });

  it('gives -1 for opposite vectors', () => {
    const drift = compareEmbeddings(Float32Array.of(1, 2), Float32Array.of(-1, -2));
    expect(drift.cosineSimilarity).toBeCloseTo(-1, 12);
    expect(drift.maxAbsDifference).toBe(4);
  });

  it('gives 0 for orthogonal vectors', () => {
    expect(compareEmbeddings(Float32Array.of(1, 0), Float32Array.of(0, 5)).cosineSimilarity).toBe(0);
  });

  it('ignores scale in the cosine', () => {
    const drift = compareEmbeddings(Float32Array.of(3, 4), Float32Array.of(6, 8));
    expect(drift.cosineSimilarity).toBeCloseTo(1, 12);
    expect(drift.maxAbsDifference).toBe(4);
  });

  it('matches a hand-computed cosine', () => {
    // (1·2 + 2·0 + 2·1) / (3 · √5)
    expect(compareEmbeddings(Float32Array.of(1, 2, 2), Float32Array.of(2, 0, 1)).cosineSimilarity).toBeCloseTo(4 / (3 * Math.sqrt(5)), 12);
  });

  it('treats zero vectors as equal to each other', () => {
    expect(compareEmbeddings(new Float32Array(4), new Float32Array(4)).cosineSimilarity).toBe(1);
    expect(compareEmbeddings(new Float32Array(4), Float32Array.of(0, 1, 0, 0)).cosineSimilarity).toBe(0);
  });

  it('returns NaN when a value is NaN', () => {
    const drift = compareEmbeddings(Float32Array.of(1, Number.NaN), Float32Array.of(1, 2));
    expect(drift.maxAbsDifference).toBeNaN();
    expect(drift.cosineSimilarity).toBeNaN();
  });

  it('rejects different lengths', () => {
    expect(() => compareEmbeddings(new Float32Array(3), new Float32Array(4))).toThrow(/3 against 4 values/);
  });

  it('rejects empty embeddings', () => {
    expect(() => compareEmbeddings(new Float32Array(0), new Float32Array(0))).toThrow(RangeError);
  });
});

describe.each([['esm2_tiny'], ['dnabert_tiny']])('%s float16 graph', (id) => {
  const config = getModelConfig(id);
  const float32 = buildModel(config, { seed: 7 });
  const float16 = buildModel(config, { seed: 7, dtype: 'float16' });
  const graph = onnx.ModelProto.decode(float16.modelBytes).graph;
  if (!graph) throw new Error(`The float16 ${id} model has no graph.`);

  it('records its dtype', () => {
    expect(float16.dtype).toBe('float16');
    expect(float32.dtype).toBe('float32');
  });

  it('stores every initializer as FLOAT16', () => {
    const types = new Set((graph.initializer ?? []).map((tensor) => tensor.dataType));
    expect([...types]).toEqual([FLOAT16]);
  });

  it('has only float16 and int64 constants', () => {
    for (const node of graph.node ?? []) {
      if (node.opType !== 'Constant') continue;
      const dataType = node.attribute?.find((attribute) => attribute.name === 'value')?.t?.dataType;
      expect([FLOAT16, INT64], `${node.name} has data type ${dataType}`).toContain(dataType);
    }
  });

  it('casts only to float16', () => {
    // Initializers, constants and Casts are the only sources of float values, and every other op keeps its
    // input type, so these three checks make every float activation float16.
    for (const node of graph.node ?? []) {
      if (node.opType !== 'Cast') continue;
      const to = toNumber(node.attribute?.find((attribute) => attribute.name === 'to')?.i ?? 0);
      expect(to, `${node.name} casts to ${to}`).toBe(FLOAT16);
    }
  });

  it('declares no float32 value', () => {
    const declared = [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])];
    const float32Names = declared.filter((info) => info.type?.tensorType?.elemType === FLOAT).map((info) => info.name);
    expect(float32Names).toEqual([]);
  });

  it('declares float16 outputs and int64 inputs', () => {
    expect(graph.input?.map((input) => [input.name, input.type?.tensorType?.elemType])).toEqual([
      ['input_ids', INT64],
      ['attention_mask', INT64],
    ]);
    for (const output of graph.output ?? []) expect(output.type?.tensorType?.elemType, output.name ?? '').toBe(FLOAT16);
  });

  it('keeps the float32 parameter count', () => {
    expect(float16.parameterCount).toBe(float32.parameterCount);
    expect(float16.parameterCount).toBe(config.parameters);
  });

  it('stores the float16 weight bytes of counts.ts', () => {
    expect(float16.weightBytes).toBe(weightBytes(config, 'float16'));
    let parameterBytes = 0;
    let tableBytes = 0;
    for (const [name, tensor] of readInitializers(float16)) {
      expect(tensor.bytes.byteLength, name).toBe(2 * elementCount(tensor.dims));
      if (name === ROTARY_COS_NAME || name === ROTARY_SIN_NAME) tableBytes += tensor.bytes.byteLength;
      else parameterBytes += tensor.bytes.byteLength;
    }
    expect(parameterBytes).toBe(weightBytes(config, 'float16'));
    // ESM-2's rotary cos and sin tables are lookup tables, not parameters, so weightBytes leaves them out.
    const expectedTableBytes = config.family === 'esm2' ? 2 * ROTARY_TABLE_POSITIONS * (config.hidden / config.heads) * 2 : 0;
    expect(tableBytes).toBe(expectedTableBytes);
  });

  it('rounds the float32 weights of the same seed', () => {
    const float32Tensors = readInitializers(float32);
    for (const [name, tensor] of readInitializers(float16)) {
      const reference = float32Tensors.get(name);
      expect(reference, name).toBeDefined();
      const expected = float32ArrayToFloat16Bits(new Float32Array((reference as DecodedInitializer).bytes.buffer));
      const actual = new Uint16Array(tensor.bytes.buffer);
      expect(Buffer.from(actual.buffer).equals(Buffer.from(expected.buffer)), name).toBe(true);
    }
  });

  it('builds the same bytes from the same seed', () => {
    const again = buildModel(config, { seed: 7, dtype: 'float16' });
    expect(Buffer.from(again.modelBytes).equals(Buffer.from(float16.modelBytes))).toBe(true);
  });
});

describe.each([['esm2_tiny'], ['dnabert_tiny']])('%s float16 on Node WASM', (id) => {
  const config = getModelConfig(id);
  const batch = mixedBatch(config);
  const float16 = buildModel(config, { seed: 7, dtype: 'float16' });
  let float16Output: HiddenStates;
  let float32Output: HiddenStates;
  const drift: Record<string, number> = {};

  beforeAll(async () => {
    float32Output = await runLastHiddenState(buildModel(config, { seed: 7 }), batch);
    float16Output = await runLastHiddenState(float16, batch);
  });

  afterAll(() => {
    console.info(`${id} float16 against float32 on Node WASM: ${JSON.stringify(drift)}`);
  });

  it('returns a float16 [batch, sequence, hidden] output', () => {
    expect(float16Output.type).toBe('float16');
    expect(float16Output.dims).toEqual([batch.rows.length, batch.paddedLength, config.hidden]);
  });

  it('returns only finite values', () => {
    expect(float16Output.values.every(Number.isFinite)).toBe(true);
  });

  it('pools to the float32 embeddings', () => {
    const pooled16 = meanPool(float16Output.values, batch, config.hidden);
    const pooled32 = meanPool(float32Output.values, batch, config.hidden);
    let minCosine = 1;
    let maxAbsDifference = 0;
    pooled16.forEach((row, index) => {
      const rowDrift = compareEmbeddings(row, pooled32[index]);
      minCosine = Math.min(minCosine, rowDrift.cosineSimilarity);
      maxAbsDifference = Math.max(maxAbsDifference, rowDrift.maxAbsDifference);
      expect(rowDrift.cosineSimilarity, `row ${index} of length ${batch.rows[index].length}`).toBeGreaterThanOrEqual(MIN_COSINE);
    });
    drift.pooledMinCosine = minCosine;
    drift.pooledMaxAbsDifference = maxAbsDifference;
  });

  it('keeps every real token near float32', () => {
    // Padded positions are left out because ESM-2 gives them LayerNorm outputs of no meaning.
    const realTokens = (values: Float32Array): Float32Array => {
      const realValues: number[] = [];
      batch.rows.forEach((row, r) => {
        const start = r * batch.paddedLength * config.hidden;
        realValues.push(...values.subarray(start, start + row.length * config.hidden));
      });
      return Float32Array.from(realValues);
    };
    const tokenDrift = compareEmbeddings(realTokens(float16Output.values), realTokens(float32Output.values));
    drift.tokenMaxAbsDifference = tokenDrift.maxAbsDifference;
    drift.tokenCosine = tokenDrift.cosineSimilarity;
    expect(tokenDrift.cosineSimilarity).toBeGreaterThanOrEqual(MIN_COSINE);
    expect(tokenDrift.maxAbsDifference).toBeLessThanOrEqual(MAX_TOKEN_ABS_DIFFERENCE);
  });

  it('ignores padded keys', async () => {
    const shortRow = batch.rows[2];
    const alone = await runLastHiddenState(float16, padRows([shortRow], batch.padId));
    const start = 2 * batch.paddedLength * config.hidden;
    const inBatch = float16Output.values.subarray(start, start + shortRow.length * config.hidden);
    // The same tokens with and without padded keys, so only the rounding of other kernel shapes may differ.
    const paddedKeys = batch.paddedLength - shortRow.length;
    const paddingDifference = compareEmbeddings(inBatch, alone.values).maxAbsDifference;
    drift.paddedKeysMaxAbsDifference = paddingDifference;
    expect(paddingDifference, `${paddedKeys} padded keys`).toBeLessThan(MAX_TOKEN_ABS_DIFFERENCE);
  });

  it('keeps an all-padding row finite', async () => {
    const output = await runLastHiddenState(float16, padRows([batch.rows[3], []], batch.padId));
    expect(output.values.every(Number.isFinite)).toBe(true);
  });

  it('runs from external data to the same output', async () => {
    const external = buildModel(config, { seed: 7, dtype: 'float16', externalDataThresholdBytes: 1024 });
    expect(external.externalData).toHaveLength(1);
    const fromExternal = await runLastHiddenState(external, batch);
    expect(compareEmbeddings(fromExternal.values, float16Output.values).maxAbsDifference).toBe(0);
  });
});

describe('float16 build options', () => {
  it.each([['esm2_t6_8M'], ['dnabert_s']])('%s stores weightBytes(float16)', (id) => {
    const config = getModelConfig(id);
    const built = buildModel(config, { dtype: 'float16' });
    expect(built.parameterCount).toBe(config.parameters);
    expect(built.weightBytes).toBe(weightBytes(config, 'float16'));
  });

  it('rejects an unknown dtype with the valid ones', () => {
    const options = { dtype: 'bfloat16' } as unknown as { dtype: 'float16' };
    expect(() => buildModel(getModelConfig('esm2_tiny'), options)).toThrow(/Invalid dtype "bfloat16" for model esm2_tiny\. Valid dtypes: float32, float16\./);
  });

  it('rejects an unknown builder float type', () => {
    // An inherited property name must not pass for a float type.
    expect(() => new OnnxGraphBuilder({ floatType: 'constructor' as never })).toThrow(/Invalid float type "constructor"/);
  });
});
