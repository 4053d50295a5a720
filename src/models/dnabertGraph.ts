/**
 * Generates a DNABERT-S encoder (the DNABERT-2 MosaicBERT architecture) as an ONNX graph (opset 17,
 * standard ops only, so the same graph runs on the WASM and WebGPU backends) with seeded pseudo-random
 * weights. Shapes and ops match the published architecture, so speed and memory do too, but the
 * outputs are not DNA embeddings. The layer structure follows MosaicBERT's `bert_layers.py`
 * (mosaicml/examples, examples/benchmarks/bert/src), whose module names the initializers keep.
 *
 * Inputs `input_ids` and `attention_mask` are int64 [batch, sequence]. Outputs, float32 by default and
 * float16 with the `dtype: 'float16'` option:
 * - `last_hidden_state`, [batch, sequence, hidden], the last layer's output with padded positions set
 *   to 0, as MosaicBERT returns them after unpadding.
 * - `pooled_embedding`, [batch, hidden], the mean of `last_hidden_state` over the real tokens,
 *   [CLS] and [SEP] included. The DNABERT-2 usage example pools the same way, with torch.mean over the
 *   tokens of one unpadded sequence.
 */
import { DNABERT_TOKEN_IDS, DNABERT_TOKEN_TYPES, type DnabertConfig } from './catalog';
import { WeightGenerator, createModelBuilder, finishModel, type BuildModelOptions, type BuiltModel } from './generatedModel';
import { DATA_TYPES, attr, type OnnxGraphBuilder } from './onnxBuilder';
import { PADDING_SCORE_BIAS, addEncoderInputs, addGelu, addLayerNorm, addLinear } from './layers';

export type BuildDnabertOptions = BuildModelOptions;

/**
 * BERT's LayerNorm epsilon, which MosaicBERT and DNABERT-2 keep. As a float16 value it would be 0, but
 * `addLayerNorm` passes it as a float32 attribute in both graphs.
 */
const LAYER_NORM_EPSILON = 1e-12;

/** Builds the DNABERT encoder for `config`. Throws RangeError when the shapes cannot form the graph. */
export function buildDnabertModel(config: DnabertConfig, options: BuildDnabertOptions = {}): BuiltModel {
  validateShapes(config);

  const builder = createModelBuilder(config.id, options);
  const weights = new WeightGenerator(options.seed ?? 1);
  new DnabertGraphWriter(builder, weights, config).write();
  return finishModel(builder, config.id, options);
}

/**
 * Returns the ALiBi slope of each attention head. For n heads, a power of two, head k (from 1) gets
 * 2^(−8k/n). Otherwise, with p the largest power of two below n, the first p heads get the slopes for p
 * heads and the remaining n − p heads take every other slope for 2p heads, starting with the first.
 * For 12 heads that is 2^−1 … 2^−8, then 2^−0.5, 2^−1.5, 2^−2.5, 2^−3.5. Throws RangeError unless
 * `heads` is a positive integer.
 */
export function alibiSlopes(heads: number): number[] {
  if (!Number.isInteger(heads) || heads <= 0) {
    throw new RangeError(`Invalid head count ${heads} for ALiBi slopes: it must be a positive integer.`);
  }

  let powerOfTwo = 1;
  while (powerOfTwo * 2 <= heads) powerOfTwo *= 2;

  const slopes = geometricSlopes(powerOfTwo);
  if (powerOfTwo === heads) return slopes;
  const interleaved = geometricSlopes(2 * powerOfTwo).filter((_, index) => index % 2 === 0);
  return [...slopes, ...interleaved.slice(0, heads - powerOfTwo)];
}

function geometricSlopes(heads: number): number[] {
  return Array.from({ length: heads }, (_, index) => 2 ** ((-8 * (index + 1)) / heads));
}

/**
 * Returns the ALiBi score bias as a row-major [heads, length, length] array: −slope·|i − j| for query i
 * and key j. The graph computes the same values at run time, for any sequence length.
 */
export function alibiBias(heads: number, length: number): Float32Array {
  if (!Number.isInteger(length) || length < 0) {
    throw new RangeError(`Invalid sequence length ${length} for the ALiBi bias: it must be a non-negative integer.`);
  }
  const slopes = alibiSlopes(heads);
  const bias = new Float32Array(heads * length * length);
  slopes.forEach((slope, head) => {
    for (let query = 0; query < length; query += 1) {
      for (let key = 0; key < length; key += 1) {
        bias[(head * length + query) * length + key] = -slope * Math.abs(query - key);
      }
    }
  });
  return bias;
}

function validateShapes(config: DnabertConfig): void {
  const positive = ['layers', 'hidden', 'heads', 'ffn', 'vocabSize'] as const;
  for (const key of positive) {
    if (!Number.isInteger(config[key]) || config[key] <= 0) {
      throw new RangeError(`Invalid ${key} ${config[key]} in model config ${config.id}: it must be a positive integer.`);
    }
  }
  if (config.hidden % config.heads !== 0) {
    throw new RangeError(`Invalid model config ${config.id}: hidden size ${config.hidden} is not a multiple of ${config.heads} heads.`);
  }
  const largestSpecialId = Math.max(...Object.values(DNABERT_TOKEN_IDS));
  if (config.vocabSize <= largestSpecialId) {
    throw new RangeError(
      `Invalid model config ${config.id}: vocabulary size ${config.vocabSize} has no id ${largestSpecialId} for [MASK]. ` +
        `Use a vocabulary of at least ${largestSpecialId + 1} tokens.`,
    );
  }
}

/** Writes the DNABERT nodes and initializers into a builder, input to output. */
class DnabertGraphWriter {
  private readonly headSize: number;

  constructor(
    private readonly builder: OnnxGraphBuilder,
    private readonly weights: WeightGenerator,
    private readonly config: DnabertConfig,
  ) {
    this.headSize = config.hidden / config.heads;
  }

  write(): void {
    const b = this.builder;
    const { inputIds, maskFloat } = addEncoderInputs(b);

    let hidden = this.embed(inputIds);
    const attentionBias = this.attentionBias(inputIds, maskFloat);
    for (let layer = 0; layer < this.config.layers; layer += 1) {
      hidden = this.encoderLayer(layer, hidden, attentionBias);
    }

    const maskColumn = b.op('Unsqueeze', [maskFloat, b.constantInt64([2])]);
    const lastHiddenState = b.op('Mul', [hidden, maskColumn], {}, 'last_hidden_state');
    b.addOutput(lastHiddenState, b.floatType, ['batch', 'sequence', this.config.hidden]);
    b.addOutput(this.meanPool(lastHiddenState, maskFloat), b.floatType, ['batch', this.config.hidden]);
  }

  /** Word embedding plus the token type 0 embedding, then LayerNorm. DNABERT has no position embedding. */
  private embed(inputIds: string): string {
    const b = this.builder;
    const { vocabSize, hidden } = this.config;
    const wordTable = b.addFloatInitializer('embeddings.word_embeddings.weight', [vocabSize, hidden], this.weights.uniform(1));
    const typeTable = b.addFloatInitializer(
      'embeddings.token_type_embeddings.weight',
      [DNABERT_TOKEN_TYPES, hidden],
      this.weights.uniform(1),
    );

    const words = b.op('Gather', [wordTable, inputIds], { axis: attr.int(0) }, 'embeddings.word');
    const typeZero = b.op('Gather', [typeTable, b.constantInt64([0], [])], { axis: attr.int(0) }, 'embeddings.token_type');
    return this.layerNorm('embeddings.LayerNorm', b.op('Add', [words, typeZero]), 'embeddings');
  }

  /**
   * Returns the [batch, heads, sequence, sequence] bias that every layer adds to its attention scores:
   * the ALiBi term −slope·|i − j|, computed from the run's sequence length, plus `PADDING_SCORE_BIAS`
   * for padded keys. It is built once per run, like MosaicBERT's combined ALiBi and padding mask.
   */
  private attentionBias(inputIds: string, maskFloat: string): string {
    const b = this.builder;
    const sequenceLength = b.op('Shape', [inputIds], { start: attr.int(1), end: attr.int(2) }, 'sequence_length');
    const lengthScalar = b.op('Squeeze', [sequenceLength, b.constantInt64([0])]);
    const positions = this.positions(lengthScalar);

    const queryPositions = b.op('Unsqueeze', [positions, b.constantInt64([1])]);
    const distance = b.op('Abs', [b.op('Sub', [queryPositions, positions])]);
    const negativeSlopes = alibiSlopes(this.config.heads).map((slope) => -slope);
    const alibi = b.op('Mul', [distance, b.constantFloat(negativeSlopes, [this.config.heads, 1, 1])], {}, 'alibi_bias');

    const isPadding = b.op('Sub', [b.constantFloat([1], []), maskFloat]);
    const paddingBias = b.op('Mul', [isPadding, b.constantFloat([PADDING_SCORE_BIAS[b.floatType]], [])]);
    const paddingColumns = b.op('Unsqueeze', [paddingBias, b.constantInt64([1, 2])], {}, 'padding_score_bias');
    return b.op('Add', [alibi, paddingColumns], {}, 'attention_bias');
  }

  /** Returns the token positions 0 … length − 1 as a vector of the graph's float type. */
  private positions(lengthScalar: string): string {
    const b = this.builder;
    if (b.floatType === 'float32') {
      const lengthFloat = b.op('Cast', [lengthScalar], { to: attr.int(DATA_TYPES.float32) });
      return b.op('Range', [b.constantFloat32([0], []), lengthFloat, b.constantFloat32([1], [])], {}, 'positions');
    }

    // ONNX Range has no float16 type, so the float16 graph counts in int64 and casts. Float16 represents
    // every integer up to 2048 exactly, so positions and distances stay exact up to 2048 tokens.
    const indices = b.op('Range', [b.constantInt64([0], []), lengthScalar, b.constantInt64([1], [])]);
    return b.op('Cast', [indices], { to: attr.int(DATA_TYPES[b.floatType]) }, 'positions');
  }

  /** Adds one post-LayerNorm layer: x = LN(x + attention(x)), then x = LN(x + gatedFeedForward(x)). */
  private encoderLayer(layer: number, input: string, attentionBias: string): string {
    const b = this.builder;
    const prefix = `encoder.layer.${layer}`;

    const attention = this.selfAttention(`${prefix}.attention`, input, attentionBias);
    const afterAttention = this.layerNorm(`${prefix}.attention.output.LayerNorm`, b.op('Add', [input, attention]));

    const feedForward = this.gatedFeedForward(`${prefix}.mlp`, afterAttention);
    return this.layerNorm(`${prefix}.mlp.layernorm`, b.op('Add', [afterAttention, feedForward]), `${prefix}.output`);
  }

  /** Self-attention with one fused Wqkv projection whose output columns are laid out [q | k | v]. */
  private selfAttention(prefix: string, input: string, attentionBias: string): string {
    const b = this.builder;
    const { hidden } = this.config;

    const qkv = this.linear(`${prefix}.self.Wqkv`, input, hidden, 3 * hidden);
    const [query, key, value] = b.opWithOutputs('Split', [qkv], 3, { axis: attr.int(-1) });
    const scaledQuery = b.op('Mul', [query, b.constantFloat([this.headSize ** -0.5], [])]);

    const keysTransposed = b.op('Transpose', [this.splitHeads(key)], { perm: attr.ints([0, 1, 3, 2]) });
    const rawScores = b.op('MatMul', [this.splitHeads(scaledQuery), keysTransposed]);
    const scores = b.op('Add', [rawScores, attentionBias], {}, `${prefix}.scores`);
    const probabilities = b.op('Softmax', [scores], { axis: attr.int(-1) });
    const context = b.op('MatMul', [probabilities, this.splitHeads(value)]);

    const merged = b.op('Reshape', [b.op('Transpose', [context], { perm: attr.ints([0, 2, 1, 3]) }), b.constantInt64([0, 0, hidden])]);
    return this.linear(`${prefix}.output.dense`, merged, hidden, hidden);
  }

  /**
   * MosaicBERT's gated linear unit: one projection hidden → 2·ffn without bias (`gated_layers`), then
   * GELU of the first half times the second half, then `wo` ffn → hidden with bias.
   */
  private gatedFeedForward(prefix: string, input: string): string {
    const b = this.builder;
    const { hidden, ffn } = this.config;
    const bound = 1 / Math.sqrt(hidden);
    const gatedWeight = b.addFloatInitializer(`${prefix}.gated_layers.weight`, [hidden, 2 * ffn], this.weights.uniform(bound));
    const projected = b.op('MatMul', [input, gatedWeight]);

    const [gate, value] = b.opWithOutputs('Split', [projected], 2, { axis: attr.int(-1) });
    const gated = b.op('Mul', [this.gelu(gate), value]);
    return this.linear(`${prefix}.wo`, gated, ffn, hidden);
  }

  /** Reshapes [batch, sequence, hidden] to [batch, heads, sequence, headSize]. */
  private splitHeads(input: string): string {
    const b = this.builder;
    const reshaped = b.op('Reshape', [input, b.constantInt64([0, 0, this.config.heads, this.headSize])]);
    return b.op('Transpose', [reshaped], { perm: attr.ints([0, 2, 1, 3]) });
  }

  /**
   * Returns sum over tokens of `lastHiddenState` (already 0 at padded positions) divided by the real token
   * count. A row without real tokens divides by 1, so its pooled embedding is 0 rather than NaN.
   */
  private meanPool(lastHiddenState: string, maskFloat: string): string {
    const b = this.builder;
    const tokenAxis = b.constantInt64([1]);
    const summed = b.op('ReduceSum', [lastHiddenState, tokenAxis], { keepdims: attr.int(0) });
    const tokenCount = b.op('ReduceSum', [maskFloat, tokenAxis], { keepdims: attr.int(1) });
    const divisor = b.op('Max', [tokenCount, b.constantFloat([1], [])]);
    return b.op('Div', [summed, divisor], {}, 'pooled_embedding');
  }

  private linear(prefix: string, input: string, inputSize: number, outputSize: number): string {
    return addLinear(this.builder, this.weights, prefix, input, inputSize, outputSize);
  }

  private layerNorm(prefix: string, input: string, outputName?: string): string {
    return addLayerNorm(this.builder, prefix, input, this.config.hidden, LAYER_NORM_EPSILON, outputName);
  }

  private gelu(input: string): string {
    return addGelu(this.builder, input);
  }
}
