/**
 * Graph pieces that ESM-2 and DNABERT-S share: linear layers, LayerNorm and exact GELU, added to an
 * OnnxGraphBuilder with seeded weights.
 */
import type { WeightGenerator } from './generatedModel';
import { DATA_TYPES, attr, type OnnxGraphBuilder } from './onnxBuilder';

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
  const weight = builder.addFloat32Initializer(`${prefix}.weight`, [inputSize, outputSize], weights.uniform(bound));
  const bias = builder.addFloat32Initializer(`${prefix}.bias`, [outputSize], weights.uniform(bound));
  return builder.op('Add', [builder.op('MatMul', [input, weight]), bias]);
}

/** Adds LayerNormalization over the last axis, with weight 1 and bias 0. */
export function addLayerNorm(builder: OnnxGraphBuilder, prefix: string, input: string, size: number, epsilon: number, outputName?: string): string {
  const weight = builder.addFloat32Initializer(`${prefix}.weight`, [size], (values) => values.fill(1));
  const bias = builder.addFloat32Initializer(`${prefix}.bias`, [size], () => {});
  return builder.op('LayerNormalization', [input, weight, bias], { axis: attr.int(-1), epsilon: attr.float(epsilon) }, outputName);
}

/**
 * Adds exact GELU, 0.5·x·(1 + erf(x/√2)), in the node order that onnxruntime's GeluFusion matches. On the
 * WASM backend of onnxruntime-web 1.30, its verbose log shows GeluFusion and BiasGeluFusion rewriting it.
 */
export function addGelu(builder: OnnxGraphBuilder, input: string): string {
  const erf = builder.op('Erf', [builder.op('Div', [input, builder.constantFloat32([Math.SQRT2], [])])]);
  const halfInput = builder.op('Mul', [input, builder.constantFloat32([0.5], [])]);
  return builder.op('Mul', [halfInput, builder.op('Add', [erf, builder.constantFloat32([1], [])])]);
}

/** Adds the inputs every generated encoder takes: int64 `input_ids` and `attention_mask`, and the mask cast to float. */
export function addEncoderInputs(builder: OnnxGraphBuilder): { inputIds: string; attentionMask: string; maskFloat: string } {
  const inputIds = builder.addInput('input_ids', 'int64', ['batch', 'sequence']);
  const attentionMask = builder.addInput('attention_mask', 'int64', ['batch', 'sequence']);
  const maskFloat = builder.op('Cast', [attentionMask], { to: attr.int(DATA_TYPES.float32) }, 'attention_mask_float');
  return { inputIds, attentionMask, maskFloat };
}
