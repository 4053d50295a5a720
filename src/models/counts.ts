/**
 * Sizes derived from a model's shapes: parameters, weight bytes, forward FLOPs and the largest tensors.
 * The numbers come from the architecture, never from the published counts in the catalog, so a test
 * can compare the two.
 */
import { DNABERT_TOKEN_TYPES, type DnabertConfig, type Esm2Config, type ModelConfig } from './catalog';

export type WeightDtype = 'float32' | 'float16';

/** A named tensor size. `dims` is the tensor shape, in elements. */
export interface TensorSize {
  name: string;
  dims: number[];
  bytes: number;
}

const BYTES_PER_ELEMENT: Record<WeightDtype, number> = { float32: 4, float16: 2 };
const FLOAT32_BYTES = 4;

/** Counts encoder parameters from the shapes of `config`, by family. */
export function parameterCount(config: ModelConfig): number {
  switch (config.family) {
    case 'esm2':
      return esm2ParameterCount(config);
    case 'dnabert':
      return dnabertParameterCount(config);
  }
}

/**
 * ESM-2: token embedding, per layer two LayerNorms, the q/k/v/out projections and the two feed-forward
 * linears (all with biases), and the final LayerNorm.
 */
function esm2ParameterCount(config: Esm2Config): number {
  const { hidden, ffn, layers, vocabSize } = config;
  const layerNormParameters = 2 * hidden;
  const attentionParameters = 4 * (hidden * hidden + hidden);
  const feedForwardParameters = hidden * ffn + ffn + ffn * hidden + hidden;
  const perLayer = 2 * layerNormParameters + attentionParameters + feedForwardParameters;
  return vocabSize * hidden + layers * perLayer + layerNormParameters;
}

/**
 * DNABERT (MosaicBERT): word and token type embeddings and their LayerNorm, then per layer the fused
 * Wqkv and the attention output dense, both with bias, and two LayerNorms. The gated input projection
 * hidden → 2·ffn has no bias, as MosaicBERT's `gated_layers`, and the output projection `wo` has one.
 * There is no final LayerNorm. For DNABERT-S this gives exactly 116,477,952.
 */
function dnabertParameterCount(config: DnabertConfig): number {
  const { hidden, ffn, layers, vocabSize } = config;
  const layerNormParameters = 2 * hidden;
  const embeddingParameters = vocabSize * hidden + DNABERT_TOKEN_TYPES * hidden + layerNormParameters;
  const attentionParameters = hidden * 3 * hidden + 3 * hidden + hidden * hidden + hidden;
  const feedForwardParameters = hidden * 2 * ffn + ffn * hidden + hidden;
  const perLayer = 2 * layerNormParameters + attentionParameters + feedForwardParameters;
  return embeddingParameters + layers * perLayer;
}

/** Returns the bytes that the parameters take at `dtype`. */
export function weightBytes(config: ModelConfig, dtype: WeightDtype): number {
  return parameterCount(config) * BYTES_PER_ELEMENT[dtype];
}

/**
 * Counts the weights that take part in matrix products, per token: the q/k/v/out projections
 * (4·hidden² per layer) and the feed-forward projections, 2·hidden·ffn per layer for ESM-2 and
 * 3·hidden·ffn for DNABERT, whose gated input projection is hidden → 2·ffn. Embeddings, biases and
 * LayerNorms are left out. DNABERT-S has 113,246,208.
 */
export function matmulParameterCount(config: ModelConfig): number {
  const { hidden, ffn, layers } = config;
  const feedForwardMatrices = config.family === 'dnabert' ? 3 : 2;
  return layers * (4 * hidden * hidden + feedForwardMatrices * hidden * ffn);
}

/**
 * Estimates forward FLOPs per token at a padded sequence length: 2 FLOPs per multiply-add of the weight
 * matrices (2 · `matmulParameterCount`, which is 24·layers·hidden² for ESM-2 when ffn = 4·hidden), plus
 * 4·hidden·paddedLength per layer for the scores (QKᵀ) and the weighted sum over values. It leaves out
 * LayerNorm, softmax, GELU, gating, rotary, ALiBi and bias terms, which are small next to the matrix
 * products.
 */
export function forwardFlopsPerToken(config: ModelConfig, paddedLength: number): number {
  return 2 * matmulParameterCount(config) + 4 * config.layers * config.hidden * paddedLength;
}

/** Lists the embedding and the weight matrices of layer 0 of a model, named as in the generated graph. */
function weightShapes(config: ModelConfig): { name: string; dims: number[] }[] {
  const { hidden, ffn, vocabSize } = config;
  switch (config.family) {
    case 'esm2':
      return [
        { name: 'embed_tokens.weight', dims: [vocabSize, hidden] },
        { name: 'layers.0.self_attn.q_proj.weight', dims: [hidden, hidden] },
        { name: 'layers.0.fc1.weight', dims: [hidden, ffn] },
        { name: 'layers.0.fc2.weight', dims: [ffn, hidden] },
      ];
    case 'dnabert':
      return [
        { name: 'embeddings.word_embeddings.weight', dims: [vocabSize, hidden] },
        { name: 'encoder.layer.0.attention.self.Wqkv.weight', dims: [hidden, 3 * hidden] },
        { name: 'encoder.layer.0.attention.output.dense.weight', dims: [hidden, hidden] },
        { name: 'encoder.layer.0.mlp.gated_layers.weight', dims: [hidden, 2 * ffn] },
        { name: 'encoder.layer.0.mlp.wo.weight', dims: [ffn, hidden] },
      ];
  }
}

function largest(sizes: TensorSize[]): TensorSize {
  return sizes.reduce((best, size) => (size.bytes > best.bytes ? size : best));
}

function product(dims: number[]): number {
  return dims.reduce((total, dim) => total * dim, 1);
}

/**
 * Returns the largest weight tensor and its size at `dtype`. Every layer has the same shapes, so the name
 * points at layer 0. When two tensors tie (ESM-2's fc1 and fc2), the first listed wins.
 */
export function largestWeightTensor(config: ModelConfig, dtype: WeightDtype = 'float32'): TensorSize {
  const sizes = weightShapes(config).map(({ name, dims }) => ({ name, dims, bytes: product(dims) * BYTES_PER_ELEMENT[dtype] }));
  return largest(sizes);
}

/**
 * Returns the largest float32 intermediate tensor of one forward pass at a batch size and padded length.
 * The candidates are the attention scores (batch × heads × length × length), the feed-forward
 * activation and the hidden states (batch × length × hidden). The feed-forward activation is
 * batch × length × ffn for ESM-2 and batch × length × 2·ffn for DNABERT's gated projection. DNABERT's
 * combined ALiBi and padding bias has the shape of the scores, so it never changes the result.
 */
export function largestActivationTensor(config: ModelConfig, batch: number, paddedLength: number): TensorSize {
  const feedForwardWidth = config.family === 'dnabert' ? 2 * config.ffn : config.ffn;
  const candidates: { name: string; dims: number[] }[] = [
    { name: 'attention scores', dims: [batch, config.heads, paddedLength, paddedLength] },
    { name: 'feed-forward activation', dims: [batch, paddedLength, feedForwardWidth] },
    { name: 'hidden states', dims: [batch, paddedLength, config.hidden] },
  ];
  return largest(candidates.map(({ name, dims }) => ({ name, dims, bytes: product(dims) * FLOAT32_BYTES })));
}
