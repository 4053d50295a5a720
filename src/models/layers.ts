/**
 * Graph pieces that ESM-2 and DNABERT-S share: linear layers, LayerNorm and exact GELU, added to an
 * OnnxGraphBuilder with seeded weights.
 */
import type { WeightGenerator } from './generatedModel';
import { DATA_TYPES, attr, type FloatElementType, type OnnxGraphBuilder } from './onnxBuilder';

/**
 * Score added to the attention scores of padded keys, by float type. In float32, exp(-1e9) is exactly 0.
 * Float16 ends at ±65504, so -1e9 would round to -Infinity, and (1 − mask)·bias would then give
 * 0·(−Infinity) = NaN for the real keys. -1e4, MosaicBERT's value, is exact in float16. A score plus the
 * ALiBi term plus -1e4 stays finite, so even a row of padding only gets a finite softmax. A padded key
 * still gets a weight of exactly 0 unless its raw score exceeds the largest real one by about 9,900.
 */
export const PADDING_SCORE_BIAS: Readonly<Record<FloatElementType, number>> = Object.freeze({ float32: -1e9, float16: -1e4 });

/** Adds x·W + bias, with W stored as [inputSize, outputSize] and both drawn uniformly from ±1/√inputSize. */
export function addLinear(
  builder: OnnxGraphBuilder,
  weights: WeightGenerator,
  prefix: string,
  input: string,
  inputSize: number,
  outputSize: number,
): string {
  const bound = 1 / Math.sqrt(inputSize);
  const weight = builder.addFloatInitializer(`${prefix}.weight`, [inputSize, outputSize], weights.uniform(bound));
  const bias = builder.addFloatInitializer(`${prefix}.bias`, [outputSize], weights.uniform(bound));
  return builder.op('Add', [builder.op('MatMul', [input, weight]), bias]);
}

/**
 * Adds LayerNormalization over the last axis, with weight 1 and bias 0. ONNX takes `epsilon` as a float32
 * attribute whatever the tensor type, and the default stash_type 1 computes mean and variance in float32,
 * so an epsilon that float16 would round to 0, such as 1e-12, keeps its value.
 */
export function addLayerNorm(builder: OnnxGraphBuilder, prefix: string, input: string, size: number, epsilon: number, outputName?: string): string {
  const weight = builder.addFloatInitializer(`${prefix}.weight`, [size], (values) => values.fill(1));
  const bias = builder.addFloatInitializer(`${prefix}.bias`, [size], () => {});
  return builder.op('LayerNormalization', [input, weight, bias], { axis: attr.int(-1), epsilon: attr.float(epsilon) }, outputName);
}

/**
 * Adds exact GELU, 0.5·x·(1 + erf(x/√2)), in the node order that onnxruntime's GeluFusion matches. On the
 * WASM backend of onnxruntime-web 1.30, its verbose log shows GeluFusion and BiasGeluFusion rewriting it.
 */
export function addGelu(builder: OnnxGraphBuilder, input: string): string {
  const erf = builder.op('Erf', [builder.op('Div', [input, builder.constantFloat([Math.SQRT2], [])])]);
  const halfInput = builder.op('Mul', [input, builder.constantFloat([0.5], [])]);
  return builder.op('Mul', [halfInput, builder.op('Add', [erf, builder.constantFloat([1], [])])]);
}

/** Adds the inputs every generated encoder takes: int64 `input_ids` and `attention_mask`, and the mask cast to float. */
export function addEncoderInputs(builder: OnnxGraphBuilder): { inputIds: string; attentionMask: string; maskFloat: string } {
  const inputIds = builder.addInput('input_ids', 'int64', ['batch', 'sequence']);
  const attentionMask = builder.addInput('attention_mask', 'int64', ['batch', 'sequence']);
  const maskFloat = builder.op('Cast', [attentionMask], { to: attr.int(DATA_TYPES[builder.floatType]) }, 'attention_mask_float');
  return { inputIds, attentionMask, maskFloat };
}
