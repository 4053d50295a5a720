import { describe, expect, it } from 'vitest';
import { DNABERT_TOKEN_IDS, MODEL_CATALOG, UnknownModelError, getModelConfig, modelInputKind, type ModelConfig } from '../../src/models/catalog';
import {
  forwardFlopsPerToken,
  largestActivationTensor,
  largestWeightTensor,
  matmulParameterCount,
  parameterCount,
  weightBytes,
} from '../../src/models/counts';
import { WASM_HEAP_MAX_BYTES, checkModelFits, formatBytes, type FitResult } from '../../src/models/feasibility';

/** Published ESM-2 encoder parameter counts, without the language-model and contact heads. */
const PUBLISHED_PARAMETERS: [string, number][] = [
  ['esm2_t6_8M', 7_408_960],
  ['esm2_t12_35M', 33_269_280],
  ['esm2_t30_150M', 147_728_000],
  ['esm2_t33_650M', 649_400_320],
  ['esm2_t36_3B', 2_832_442_880],
];

/** DNABERT-S encoder parameters: embeddings, 12 MosaicBERT layers, no pooler and no MLM head. */
const DNABERT_S_PARAMETERS = 116_477_952;

/** WebGPU's default limits, which every adapter supports. */
const DEFAULT_WEBGPU_LIMITS = { maxBufferSize: 268_435_456, maxStorageBufferBindingSize: 134_217_728 };

describe('catalog', () => {
  it('lists the ESM-2 sizes, DNABERT-S, then the test-only models', () => {
    expect(MODEL_CATALOG.map((config) => config.id)).toEqual([
      ...PUBLISHED_PARAMETERS.map(([id]) => id),
      'dnabert_s',
      'esm2_tiny',
      'dnabert_tiny',
    ]);
    expect(MODEL_CATALOG.filter((config) => config.testOnly === true).map((config) => config.id)).toEqual(['esm2_tiny', 'dnabert_tiny']);
  });

  it.each(MODEL_CATALOG.map((config) => [config.id, config] as const))('%s has consistent shapes', (_id, config) => {
    // getModelConfig types its result by this prefix.
    expect(config.id.startsWith(`${config.family}_`)).toBe(true);
    expect(config.hidden % config.heads).toBe(0);
    if (config.family === 'esm2') {
      expect(config.vocabSize).toBe(33);
      expect(config.maxResidues).toBe(1022);
      expect((config.hidden / config.heads) % 2).toBe(0);
    } else {
      expect(config.maxTokens).toBe(512);
      expect(config.vocabSize).toBeGreaterThan(DNABERT_TOKEN_IDS.mask);
    }
  });

  it('describes DNABERT-S', () => {
    const config = getModelConfig('dnabert_s');
    expect(config).toMatchObject({ family: 'dnabert', layers: 12, hidden: 768, heads: 12, ffn: 3072, vocabSize: 4096, maxTokens: 512 });
    expect(config.parameters).toBe(DNABERT_S_PARAMETERS);
    expect(config.testOnly).toBeUndefined();
  });

  it('uses DNABERT-2 special token ids', () => {
    expect(DNABERT_TOKEN_IDS).toEqual({ unk: 0, cls: 1, sep: 2, pad: 3, mask: 4 });
  });

  it('maps families to input kinds', () => {
    expect(modelInputKind(getModelConfig('esm2_t6_8M'))).toBe('protein');
    expect(modelInputKind(getModelConfig('esm2_tiny'))).toBe('protein');
    expect(modelInputKind(getModelConfig('dnabert_s'))).toBe('dna');
    expect(modelInputKind(getModelConfig('dnabert_tiny'))).toBe('dna');
  });

  it('returns a config by id', () => {
    expect(getModelConfig('esm2_t30_150M').layers).toBe(30);
  });

  it('rejects an unknown id with the valid ids', () => {
    let caught: unknown;
    try {
      getModelConfig('esm2_t48_15B');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UnknownModelError);
    const error = caught as UnknownModelError;
    expect(error.name).toBe('UnknownModelError');
    expect(error.modelId).toBe('esm2_t48_15B');
    expect(error.message).toContain('"esm2_t48_15B"');
    for (const config of MODEL_CATALOG) expect(error.message).toContain(config.id);
  });
});

describe('parameterCount', () => {
  it.each(PUBLISHED_PARAMETERS)('%s has %i parameters', (id, expected) => {
    expect(parameterCount(getModelConfig(id))).toBe(expected);
  });

  it.each(MODEL_CATALOG.map((config) => [config.id, config] as const))('%s matches its catalog count', (_id, config) => {
    expect(parameterCount(config)).toBe(config.parameters);
  });

  it('counts dnabert_s exactly', () => {
    expect(parameterCount(getModelConfig('dnabert_s'))).toBe(DNABERT_S_PARAMETERS);
  });

  it('counts dnabert_s term by term', () => {
    // Word embeddings 4096·768, token types 2·768, embedding LayerNorm 2·768.
    const embeddings = 4096 * 768 + 2 * 768 + 2 * 768;
    // Wqkv and attention output dense with biases, two LayerNorms, gated_layers 768 → 6144 without bias,
    // wo 3072 → 768 with bias.
    const perLayer = (768 * 2304 + 2304) + (768 * 768 + 768) + 2 * (2 * 768) + 768 * 6144 + (3072 * 768 + 768);
    expect(perLayer).toBe(9_444_096);
    expect(embeddings + 12 * perLayer).toBe(DNABERT_S_PARAMETERS);
    // A bias on gated_layers would add 12 · 6144 and miss the published count.
    expect(embeddings + 12 * (perLayer + 6144)).not.toBe(DNABERT_S_PARAMETERS);
  });

  it('counts dnabert_tiny by hand', () => {
    // Vocabulary 64, hidden 48, 6 heads, ffn 64, 2 layers.
    const embeddings = 64 * 48 + 2 * 48 + 2 * 48;
    const perLayer = (48 * 144 + 144) + (48 * 48 + 48) + 2 * (2 * 48) + 48 * 128 + (64 * 48 + 48);
    expect(parameterCount(getModelConfig('dnabert_tiny'))).toBe(embeddings + 2 * perLayer);
  });

  it('counts esm2_tiny by hand', () => {
    // Embedding 33·32, per layer 2 LayerNorms (4·32), q/k/v/out (4·(32·32 + 32)), fc1 (32·64 + 64),
    // fc2 (64·32 + 32), and the final LayerNorm (2·32).
    const perLayer = 4 * 32 + 4 * (32 * 32 + 32) + (32 * 64 + 64) + (64 * 32 + 32);
    expect(parameterCount(getModelConfig('esm2_tiny'))).toBe(33 * 32 + 2 * perLayer + 2 * 32);
  });
});

describe('weightBytes', () => {
  it('uses 4 bytes per float32 and 2 per float16', () => {
    const config = getModelConfig('esm2_t36_3B');
    expect(weightBytes(config, 'float32')).toBe(11_329_771_520);
    expect(weightBytes(config, 'float16')).toBe(5_664_885_760);
  });
});

describe('matmulParameterCount', () => {
  it('is 113,246,208 for dnabert_s', () => {
    expect(matmulParameterCount(getModelConfig('dnabert_s'))).toBe(113_246_208);
  });

  it('is 12·layers·hidden² for esm2_t6_8M', () => {
    expect(matmulParameterCount(getModelConfig('esm2_t6_8M'))).toBe(12 * 6 * 320 * 320);
  });
});

describe('forwardFlopsPerToken', () => {
  it('adds the matrix and attention terms', () => {
    const config = getModelConfig('esm2_t6_8M');
    const matmulFlops = 2 * 12 * 6 * 320 * 320;
    const attentionFlops = 4 * 6 * 320 * 100;
    expect(forwardFlopsPerToken(config, 100)).toBe(matmulFlops + attentionFlops);
  });

  it('grows with the padded length', () => {
    const config = getModelConfig('esm2_t33_650M');
    expect(forwardFlopsPerToken(config, 1024) - forwardFlopsPerToken(config, 512)).toBe(4 * 33 * 1280 * 512);
  });

  it('counts the gated projection for dnabert_s', () => {
    const config = getModelConfig('dnabert_s');
    expect(forwardFlopsPerToken(config, 128)).toBe(2 * 113_246_208 + 4 * 12 * 768 * 128);
  });
});

describe('largestWeightTensor', () => {
  it('is fc1 for esm2_t36_3B', () => {
    expect(largestWeightTensor(getModelConfig('esm2_t36_3B'))).toEqual({
      name: 'layers.0.fc1.weight',
      dims: [2560, 10240],
      bytes: 2560 * 10240 * 4,
    });
  });

  it('halves at float16', () => {
    expect(largestWeightTensor(getModelConfig('esm2_t6_8M'), 'float16').bytes).toBe(320 * 1280 * 2);
  });

  it('is gated_layers for dnabert_s', () => {
    expect(largestWeightTensor(getModelConfig('dnabert_s'))).toEqual({
      name: 'encoder.layer.0.mlp.gated_layers.weight',
      dims: [768, 6144],
      bytes: 768 * 6144 * 4,
    });
  });

  it('is Wqkv for dnabert_tiny', () => {
    // Wqkv 48 × 144 beats gated_layers 48 × 128 and the 64 × 48 word embeddings.
    expect(largestWeightTensor(getModelConfig('dnabert_tiny'))).toEqual({
      name: 'encoder.layer.0.attention.self.Wqkv.weight',
      dims: [48, 144],
      bytes: 48 * 144 * 4,
    });
  });
});

describe('largestActivationTensor', () => {
  const config = getModelConfig('esm2_t6_8M');

  it('is the attention scores for long sequences', () => {
    expect(largestActivationTensor(config, 4, 512)).toEqual({
      name: 'attention scores',
      dims: [4, 20, 512, 512],
      bytes: 4 * 20 * 512 * 512 * 4,
    });
  });

  it('is the feed-forward activation for short sequences', () => {
    expect(largestActivationTensor(config, 1, 32)).toEqual({
      name: 'feed-forward activation',
      dims: [1, 32, 1280],
      bytes: 32 * 1280 * 4,
    });
  });

  it('is the gated projection for short dnabert_s sequences', () => {
    expect(largestActivationTensor(getModelConfig('dnabert_s'), 2, 128)).toEqual({
      name: 'feed-forward activation',
      dims: [2, 128, 6144],
      bytes: 2 * 128 * 6144 * 4,
    });
  });

  it('is the attention scores for long dnabert_s sequences', () => {
    expect(largestActivationTensor(getModelConfig('dnabert_s'), 2, 1024)).toEqual({
      name: 'attention scores',
      dims: [2, 12, 1024, 1024],
      bytes: 2 * 12 * 1024 * 1024 * 4,
    });
  });
});

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [999, '999 B'],
    [1500, '1.50 kB'],
    [134_217_728, '134.22 MB'],
    [WASM_HEAP_MAX_BYTES, '4.29 GB'],
    [11_329_771_520, '11.33 GB'],
  ])('formats %i as %s', (bytes, expected) => {
    expect(formatBytes(bytes)).toBe(expected);
  });
});

describe('checkModelFits', () => {
  const model = (id: string): ModelConfig => getModelConfig(id);
  const reasonOf = (result: FitResult): string => {
    if (result.ok) throw new Error('Expected checkModelFits to reject the model, but it accepted it.');
    return result.reason;
  };

  it('rejects esm2_t36_3B on the WebAssembly heap', () => {
    expect(checkModelFits(model('esm2_t36_3B'), { backend: 'wasm' })).toEqual({
      ok: false,
      reason:
        'esm2_t36_3B needs 11.33 GB of float32 weights, but onnxruntime-web loads weights through a WebAssembly ' +
        'heap of at most 4.29 GB. Pick esm2_t33_650M or smaller.',
    });
  });

  it('rejects esm2_t36_3B on WebGPU too', () => {
    const result = checkModelFits(model('esm2_t36_3B'), { backend: 'webgpu', limits: DEFAULT_WEBGPU_LIMITS });
    expect(result.ok).toBe(false);
  });

  it.each(PUBLISHED_PARAMETERS.slice(0, 4).map(([id]) => id))('accepts %s at default WebGPU limits', (id) => {
    expect(checkModelFits(model(id), { backend: 'webgpu', limits: DEFAULT_WEBGPU_LIMITS })).toEqual({ ok: true });
    expect(checkModelFits(model(id), { backend: 'wasm' })).toEqual({ ok: true });
  });

  it('rejects a tensor over maxStorageBufferBindingSize', () => {
    const limits = { maxBufferSize: 268_435_456, maxStorageBufferBindingSize: 20_000_000 };
    expect(checkModelFits(model('esm2_t33_650M'), { backend: 'webgpu', limits })).toEqual({
      ok: false,
      reason:
        'esm2_t33_650M has a 26.21 MB weight tensor (layers.0.fc1.weight), but this GPU binds storage buffers of ' +
        'at most 20.00 MB (maxStorageBufferBindingSize). Pick esm2_t30_150M or smaller.',
    });
  });

  it('rejects a tensor over maxBufferSize', () => {
    const limits = { maxBufferSize: 20_000_000, maxStorageBufferBindingSize: 134_217_728 };
    const result = checkModelFits(model('esm2_t33_650M'), { backend: 'webgpu', limits });
    expect(reasonOf(result)).toContain('at most 20.00 MB (maxBufferSize)');
  });

  it('ignores GPU limits on the wasm backend', () => {
    const limits = { maxBufferSize: 1000, maxStorageBufferBindingSize: 1000 };
    expect(checkModelFits(model('esm2_t6_8M'), { backend: 'wasm', limits })).toEqual({ ok: true });
  });

  it('reports when no model fits', () => {
    const limits = { maxBufferSize: 1_000_000, maxStorageBufferBindingSize: 1_000_000 };
    const result = checkModelFits(model('esm2_t6_8M'), { backend: 'webgpu', limits });
    expect(reasonOf(result)).toMatch(/No built-in model of this family fits\.$/);
  });

  it('accepts dnabert_s at default WebGPU limits', () => {
    expect(checkModelFits(model('dnabert_s'), { backend: 'webgpu', limits: DEFAULT_WEBGPU_LIMITS })).toEqual({ ok: true });
    expect(checkModelFits(model('dnabert_s'), { backend: 'wasm' })).toEqual({ ok: true });
  });

  it('rejects dnabert_s gated_layers over the binding limit', () => {
    const limits = { maxBufferSize: 268_435_456, maxStorageBufferBindingSize: 16_000_000 };
    expect(checkModelFits(model('dnabert_s'), { backend: 'webgpu', limits })).toEqual({
      ok: false,
      reason:
        'dnabert_s has a 18.87 MB weight tensor (encoder.layer.0.mlp.gated_layers.weight), but this GPU binds ' +
        'storage buffers of at most 16.00 MB (maxStorageBufferBindingSize). No built-in model of this family fits.',
    });
  });

  it('suggests only models of the same family', () => {
    // esm2_t30_150M's largest tensor is 6.55 MB, so it fits these limits, but dnabert_s's 18.87 MB does not.
    const limits = { maxBufferSize: 10_000_000, maxStorageBufferBindingSize: 10_000_000 };
    expect(reasonOf(checkModelFits(model('dnabert_s'), { backend: 'webgpu', limits }))).toMatch(/No built-in model of this family fits\.$/);
    expect(reasonOf(checkModelFits(model('esm2_t33_650M'), { backend: 'webgpu', limits }))).toMatch(/Pick esm2_t30_150M or smaller\.$/);
  });

  it('throws on a missing limit', () => {
    const limits = { maxBufferSize: Number.NaN, maxStorageBufferBindingSize: 134_217_728 };
    expect(() => checkModelFits(model('esm2_t6_8M'), { backend: 'webgpu', limits })).toThrow(RangeError);
  });
});
