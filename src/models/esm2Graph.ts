/**
 * Generates an ESM-2 encoder as an ONNX graph (opset 17, standard ops only, so the same graph runs on
 * the WASM and WebGPU backends) with seeded pseudo-random weights. Shapes and ops match the published
 * architecture, so speed and memory do too, but the outputs are not protein embeddings.
 *
 * Inputs `input_ids` and `attention_mask` are int64 [batch, sequence]. The output `last_hidden_state` is
 * [batch, sequence, hidden], after the final LayerNorm and without the language-model head. It is
 * float32, or float16 with the `dtype: 'float16'` option.
 */
import { ESM_ALPHABET, ESM_PAD_ID } from '../sequences/protein';
import type { Esm2Config } from './catalog';
import { WeightGenerator, createModelBuilder, finishModel, type BuildModelOptions, type BuiltModel } from './generatedModel';
import { DATA_TYPES, attr, type OnnxGraphBuilder } from './onnxBuilder';
import { PADDING_SCORE_BIAS, addEncoderInputs, addGelu, addLayerNorm, addLinear } from './layers';

export { DEFAULT_EXTERNAL_DATA_THRESHOLD_BYTES, type BuiltModel } from './generatedModel';

export type BuildEsm2Options = BuildModelOptions;

/** Rows of the rotary cos/sin tables: 1024 positions (1022 residues, BOS and EOS) plus two spare. */
export const ROTARY_TABLE_POSITIONS = 1026;

/** Names of the initializers that are lookup tables rather than parameters. */
export const ROTARY_COS_NAME = 'rotary.cos';
export const ROTARY_SIN_NAME = 'rotary.sin';

const LAYER_NORM_EPSILON = 1e-5;
const ROTARY_BASE = 10_000;
/** ESM-2 masks 15 % of tokens during training and replaces 80 % of those with `<mask>`. */
const TOKEN_DROPOUT_TRAIN_RATIO = 0.15 * 0.8;
const MASK_TOKEN_ID = ESM_ALPHABET.indexOf('<mask>');

/** Builds the ESM-2 encoder for `config`. Throws RangeError when the shapes cannot form the graph. */
export function buildEsm2Model(config: Esm2Config, options: BuildEsm2Options = {}): BuiltModel {
  validateShapes(config);

  const builder = createModelBuilder(config.id, options);
  const weights = new WeightGenerator(options.seed ?? 1);
  const graph = new Esm2GraphWriter(builder, weights, config);
  graph.write();

  return finishModel(builder, config.id, options);
}

function validateShapes(config: Esm2Config): void {
  const positive = ['layers', 'hidden', 'heads', 'ffn', 'vocabSize'] as const;
  for (const key of positive) {
    if (!Number.isInteger(config[key]) || config[key] <= 0) {
      throw new RangeError(`Invalid ${key} ${config[key]} in model config ${config.id}: it must be a positive integer.`);
    }
  }
  if (config.hidden % config.heads !== 0) {
    throw new RangeError(`Invalid model config ${config.id}: hidden size ${config.hidden} is not a multiple of ${config.heads} heads.`);
  }
  if ((config.hidden / config.heads) % 2 !== 0) {
    throw new RangeError(`Invalid model config ${config.id}: head size ${config.hidden / config.heads} must be even for rotary embeddings.`);
  }
  if (config.vocabSize <= Math.max(ESM_PAD_ID, MASK_TOKEN_ID)) {
    throw new RangeError(`Invalid model config ${config.id}: vocabulary size ${config.vocabSize} has no id ${MASK_TOKEN_ID} for <mask>.`);
  }
}

/** Writes the ESM-2 nodes and initializers into a builder, input to output. */
class Esm2GraphWriter {
  private readonly headSize: number;

  constructor(
    private readonly builder: OnnxGraphBuilder,
    private readonly weights: WeightGenerator,
    private readonly config: Esm2Config,
  ) {
    this.headSize = config.hidden / config.heads;
  }

  write(): void {
    const b = this.builder;
    const { inputIds, maskFloat } = addEncoderInputs(b);

    let hidden = this.embed(inputIds, maskFloat);
    const scoreBias = this.paddingScoreBias(maskFloat);
    const rotary = this.rotaryTables(inputIds);
    for (let layer = 0; layer < this.config.layers; layer += 1) {
      hidden = this.encoderLayer(layer, hidden, scoreBias, rotary);
    }

    const output = this.layerNorm('emb_layer_norm_after', hidden, 'last_hidden_state');
    b.addOutput(output, b.floatType, ['batch', 'sequence', this.config.hidden]);
  }

  /**
   * Token embedding with ESM-2's inference-time token dropout: `<mask>` tokens are zeroed, the rest are
   * scaled by 0.88 / (1 − the row's observed `<mask>` ratio), which is 0.88 without masks, and padded
   * positions are zeroed.
   */
  private embed(inputIds: string, maskFloat: string): string {
    const b = this.builder;
    const { vocabSize, hidden } = this.config;
    const fillUniform = this.weights.uniform(1);
    const table = b.addFloatInitializer('embed_tokens.weight', [vocabSize, hidden], (values) => {
      fillUniform(values);
      // Like torch.nn.Embedding(padding_idx), the padding token's row is zero.
      values.fill(0, ESM_PAD_ID * hidden, (ESM_PAD_ID + 1) * hidden);
    });
    const embedded = b.op('Gather', [table, inputIds], { axis: attr.int(0) }, 'embed_tokens');

    const one = b.constantFloat([1], []);
    const isMaskTokenBool = b.op('Equal', [inputIds, b.constantInt64([MASK_TOKEN_ID], [])]);
    const isMaskToken = b.op('Cast', [isMaskTokenBool], { to: attr.int(DATA_TYPES[b.floatType]) });
    const rowAxis = b.constantInt64([1]);
    const maskTokenCount = b.op('ReduceSum', [isMaskToken, rowAxis], { keepdims: attr.int(1) });
    // An all-padding row has no real tokens, so the count is clamped to 1 to avoid 0 / 0.
    const realTokenCount = b.op('Max', [b.op('ReduceSum', [maskFloat, rowAxis], { keepdims: attr.int(1) }), one]);
    const observedRatio = b.op('Div', [maskTokenCount, realTokenCount]);
    const rowScale = b.op('Div', [b.constantFloat([1 - TOKEN_DROPOUT_TRAIN_RATIO], []), b.op('Sub', [one, observedRatio])]);

    const kept = b.op('Mul', [maskFloat, b.op('Sub', [one, isMaskToken])]);
    const tokenScale = b.op('Unsqueeze', [b.op('Mul', [kept, rowScale]), b.constantInt64([2])]);
    return b.op('Mul', [embedded, tokenScale], {}, 'embeddings');
  }

  /** Returns [batch, 1, 1, sequence] scores to add: 0 for real keys, `PADDING_SCORE_BIAS` for padded keys. */
  private paddingScoreBias(maskFloat: string): string {
    const b = this.builder;
    const isPadding = b.op('Sub', [b.constantFloat([1], []), maskFloat]);
    const bias = b.op('Mul', [isPadding, b.constantFloat([PADDING_SCORE_BIAS[b.floatType]], [])]);
    return b.op('Unsqueeze', [bias, b.constantInt64([1, 2])], {}, 'padding_score_bias');
  }

  /** Slices the precomputed [positions, headSize] cos and sin tables to the input's sequence length. */
  private rotaryTables(inputIds: string): { cos: string; sin: string } {
    const b = this.builder;
    const halfSize = this.headSize / 2;
    const tableDims = [ROTARY_TABLE_POSITIONS, this.headSize];
    const fillCos = (values: Float32Array): void => this.fillRotary(values, halfSize, Math.cos);
    const fillSin = (values: Float32Array): void => this.fillRotary(values, halfSize, Math.sin);
    const cosTable = b.addFloatInitializer(ROTARY_COS_NAME, tableDims, fillCos, { parameter: false });
    const sinTable = b.addFloatInitializer(ROTARY_SIN_NAME, tableDims, fillSin, { parameter: false });

    const sequenceLength = b.op('Shape', [inputIds], { start: attr.int(1), end: attr.int(2) }, 'sequence_length');
    const start = b.constantInt64([0]);
    const axis = b.constantInt64([0]);
    return {
      cos: b.op('Slice', [cosTable, start, sequenceLength, axis], {}, 'rotary_cos'),
      sin: b.op('Slice', [sinTable, start, sequenceLength, axis], {}, 'rotary_sin'),
    };
  }

  /**
   * Fills row p with f(p · invFreq) for the two halves: invFreq[i] = 10000^(−2i / headSize). The angles and
   * their cos and sin are computed in float64, so a float16 table only rounds the final values.
   */
  private fillRotary(values: Float32Array, halfSize: number, f: (angle: number) => number): void {
    for (let position = 0; position < ROTARY_TABLE_POSITIONS; position += 1) {
      const row = position * this.headSize;
      for (let i = 0; i < halfSize; i += 1) {
        const inverseFrequency = 1 / ROTARY_BASE ** ((2 * i) / this.headSize);
        const value = f(position * inverseFrequency);
        values[row + i] = value;
        values[row + halfSize + i] = value;
      }
    }
  }

  /** Adds one pre-LayerNorm transformer layer: attention, then the feed-forward block, each with a residual. */
  private encoderLayer(layer: number, input: string, scoreBias: string, rotary: { cos: string; sin: string }): string {
    const b = this.builder;
    const prefix = `layers.${layer}`;

    const attentionInput = this.layerNorm(`${prefix}.self_attn_layer_norm`, input);
    const attention = this.selfAttention(`${prefix}.self_attn`, attentionInput, scoreBias, rotary);
    const afterAttention = b.op('Add', [input, attention]);

    const feedForwardInput = this.layerNorm(`${prefix}.final_layer_norm`, afterAttention);
    const inner = this.gelu(this.linear(`${prefix}.fc1`, feedForwardInput, this.config.hidden, this.config.ffn));
    const feedForward = this.linear(`${prefix}.fc2`, inner, this.config.ffn, this.config.hidden);
    return b.op('Add', [afterAttention, feedForward], {}, `${prefix}.output`);
  }

  private selfAttention(prefix: string, input: string, scoreBias: string, rotary: { cos: string; sin: string }): string {
    const b = this.builder;
    const { hidden } = this.config;

    const query = b.op('Mul', [this.linear(`${prefix}.q_proj`, input, hidden, hidden), b.constantFloat([this.headSize ** -0.5], [])]);
    const key = this.linear(`${prefix}.k_proj`, input, hidden, hidden);
    const value = this.linear(`${prefix}.v_proj`, input, hidden, hidden);

    const queryHeads = this.applyRotary(this.splitHeads(query), rotary);
    const keyHeads = this.applyRotary(this.splitHeads(key), rotary);
    const valueHeads = this.splitHeads(value);

    const keysTransposed = b.op('Transpose', [keyHeads], { perm: attr.ints([0, 1, 3, 2]) });
    const scores = b.op('Add', [b.op('MatMul', [queryHeads, keysTransposed]), scoreBias], {}, `${prefix}.scores`);
    const probabilities = b.op('Softmax', [scores], { axis: attr.int(-1) });
    const context = b.op('MatMul', [probabilities, valueHeads]);

    const merged = b.op('Reshape', [b.op('Transpose', [context], { perm: attr.ints([0, 2, 1, 3]) }), b.constantInt64([0, 0, hidden])]);
    return this.linear(`${prefix}.out_proj`, merged, hidden, hidden);
  }

  /** Reshapes [batch, sequence, hidden] to [batch, heads, sequence, headSize]. */
  private splitHeads(input: string): string {
    const b = this.builder;
    const reshaped = b.op('Reshape', [input, b.constantInt64([0, 0, this.config.heads, this.headSize])]);
    return b.op('Transpose', [reshaped], { perm: attr.ints([0, 2, 1, 3]) });
  }

  /** Applies rotary position embedding over the whole head: x·cos + rotate_half(x)·sin, rotate_half(x) = [−x₂, x₁]. */
  private applyRotary(heads: string, rotary: { cos: string; sin: string }): string {
    const b = this.builder;
    const [firstHalf, secondHalf] = b.opWithOutputs('Split', [heads], 2, { axis: attr.int(-1) });
    const rotated = b.op('Concat', [b.op('Neg', [secondHalf]), firstHalf], { axis: attr.int(-1) });
    return b.op('Add', [b.op('Mul', [heads, rotary.cos]), b.op('Mul', [rotated, rotary.sin])]);
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
