/**
 * Sizes derived from a model's shapes: parameters, weight bytes, forward FLOPs and the largest tensors.
 * The numbers come from the architecture, never from the published counts in the catalog, so a test
 * can compare the two.
 */
import type { Esm2Config, ModelConfig } from './catalog';

export type WeightDtype = 'float32' | 'float16';

/** A named tensor size. `dims` is the tensor shape, in elements. */
export interface TensorSize {
  name: string;
  dims: number[];
  bytes: number;
}

const BYTES_PER_ELEMENT: Record<WeightDtype, number> = { float32: 4, float16: 2 };
const FLOAT32_BYTES = 4;

/**
 * Counts encoder parameters: token embedding, per layer two LayerNorms, the q/k/v/out projections and the
 * two feed-forward linears (all with biases), and the final LayerNorm.
 */
export function parameterCount(config: ModelConfig): number {
  const { hidden, ffn, layers, vocabSize } = config;
  const layerNormParameters = 2 * hidden;
  const attentionParameters = 4 * (hidden * hidden + hidden);
  const feedForwardParameters = hidden * ffn + ffn + ffn * hidden + hidden;
  const perLayer = 2 * layerNormParameters + attentionParameters + feedForwardParameters;
  return vocabSize * hidden + layers * perLayer + layerNormParameters;
}

/** Returns the bytes that the parameters take at `dtype`. */
export function weightBytes(config: ModelConfig, dtype: WeightDtype): number {
  return parameterCount(config) * BYTES_PER_ELEMENT[dtype];
}

/**
 * Estimates forward FLOPs per token at a padded sequence length: 2 FLOPs per multiply-add of the weight
 * matrices (4·hidden² + 2·hidden·ffn per layer, which is 12·hidden² when ffn = 4·hidden), plus
 * 4·hidden·paddedLength per layer for the scores (QKᵀ) and the weighted sum over values. It leaves out
 * LayerNorm, softmax, GELU, rotary and bias terms, which are small next to the matrix products.
 */
export function forwardFlopsPerToken(config: ModelConfig, paddedLength: number): number {
  const { hidden, ffn, layers } = config;
  const matmulParameters = layers * (4 * hidden * hidden + 2 * hidden * ffn);
  return 2 * matmulParameters + 4 * layers * hidden * paddedLength;
}

/** Lists the weight matrices of one ESM-2 layer and the embedding, named as in the generated graph. */
function esm2WeightShapes(config: Esm2Config): { name: string; dims: number[] }[] {
  const { hidden, ffn, vocabSize } = config;
  return [
    { name: 'embed_tokens.weight', dims: [vocabSize, hidden] },
    { name: 'layers.0.self_attn.q_proj.weight', dims: [hidden, hidden] },
    { name: 'layers.0.fc1.weight', dims: [hidden, ffn] },
    { name: 'layers.0.fc2.weight', dims: [ffn, hidden] },
  ];
}

function largest(sizes: TensorSize[]): TensorSize {
  return sizes.reduce((best, size) => (size.bytes > best.bytes ? size : best));
}

function product(dims: number[]): number {
  return dims.reduce((total, dim) => total * dim, 1);
}

/**
 * Returns the largest weight tensor and its size at `dtype`. Every layer has the same shapes, so the name
 * points at layer 0. When two tensors tie (fc1 and fc2), the first listed wins.
 */
export function largestWeightTensor(config: ModelConfig, dtype: WeightDtype = 'float32'): TensorSize {
  const sizes = esm2WeightShapes(config).map(({ name, dims }) => ({ name, dims, bytes: product(dims) * BYTES_PER_ELEMENT[dtype] }));
  return largest(sizes);
}

/**
 * Returns the largest float32 intermediate tensor of one forward pass at a batch size and padded length.
 * The candidates are the attention scores (batch × heads × length × length), the feed-forward
 * activation (batch × length × ffn) and the hidden states (batch × length × hidden).
 */
export function largestActivationTensor(config: ModelConfig, batch: number, paddedLength: number): TensorSize {
  const candidates: { name: string; dims: number[] }[] = [
    { name: 'attention scores', dims: [batch, config.heads, paddedLength, paddedLength] },
    { name: 'feed-forward activation', dims: [batch, paddedLength, config.ffn] },
    { name: 'hidden states', dims: [batch, paddedLength, config.hidden] },
  ];
  return largest(candidates.map(({ name, dims }) => ({ name, dims, bytes: product(dims) * FLOAT32_BYTES })));
}
