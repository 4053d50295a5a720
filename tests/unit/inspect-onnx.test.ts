import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/models/build';
import { getModelConfig } from '../../src/models/catalog';
import { parameterCount } from '../../src/models/counts';
import { ROTARY_TABLE_POSITIONS } from '../../src/models/esm2Graph';
import {
  INPUT_NAME_ALIASES,
  checkBatchShapeAllowed,
  freeDimensionOverridesFor,
  identifyArchitecture,
  inspectOnnxModel,
  mapModelInputs,
  type OnnxInspection,
  type OnnxValueInfo,
} from '../../src/models/inspectOnnx';
import { ModelSourceError, type ModelSourceErrorCode } from '../../src/models/modelSourceError';
import { buildExternalDataModel, buildFixedBatchModel, buildInt32ReorderedModel, buildPixelValuesModel } from '../support/hubServer';

// onnx-proto is a CommonJS module, and src/models/onnxBuilder.ts explains why the default import is used.
const { onnx } = onnxProto;

const ESM2_TINY = getModelConfig('esm2_tiny');
const DNABERT_TINY = getModelConfig('dnabert_tiny');
const esm2 = buildModel(ESM2_TINY);
const esm2Fp16 = buildModel(ESM2_TINY, { dtype: 'float16' });
const dnabert = buildModel(DNABERT_TINY);

function errorOf(action: () => unknown): ModelSourceError {
  try {
    action();
  } catch (error) {
    if (error instanceof ModelSourceError) return error;
    throw error;
  }
  throw new Error('Expected a ModelSourceError, but the call returned.');
}

/** Creates an inspection with the given inputs and outputs and nothing else, for the input mapping. */
function inspectionWith(inputs: OnnxValueInfo[], outputs: OnnxValueInfo[] = [LAST_HIDDEN_STATE]): OnnxInspection {
  return {
    inputs,
    outputs,
    parameterCount: 0,
    initializerBytes: 0,
    initializersByType: [],
    externalDataFiles: [],
    opTypes: [],
    opsetVersion: 17,
    opsetImports: [{ domain: '', version: 17 }],
    irVersion: 8,
    producerName: 'test',
    embedding: null,
  };
}

function value(name: string, elemType: string, dims: (number | string | null)[]): OnnxValueInfo {
  return { name, elemType, dims, hasShape: true };
}

const LAST_HIDDEN_STATE = value('last_hidden_state', 'float32', ['batch', 'sequence', 8]);
const TEXT = new TextEncoder();

describe('inspectOnnxModel on generated graphs', () => {
  const inspection = inspectOnnxModel(esm2.modelBytes);

  it('lists the esm2 inputs with symbolic dims', () => {
    expect(inspection.inputs).toEqual([
      { name: 'input_ids', elemType: 'int64', dims: ['batch', 'sequence'], hasShape: true },
      { name: 'attention_mask', elemType: 'int64', dims: ['batch', 'sequence'], hasShape: true },
    ]);
  });

  it('lists the esm2 output with its hidden size', () => {
    expect(inspection.outputs).toEqual([{ name: 'last_hidden_state', elemType: 'float32', dims: ['batch', 'sequence', ESM2_TINY.hidden], hasShape: true }]);
  });

  it('counts esm2 parameters plus the rotary tables', () => {
    // The graph stores the rotary cos and sin tables as initializers, [1026, headSize] each. They are
    // lookup tables, so the catalog's count leaves them out, and an inspection of the bytes cannot.
    const rotaryElements = 2 * ROTARY_TABLE_POSITIONS * (ESM2_TINY.hidden / ESM2_TINY.heads);
    expect(inspection.parameterCount).toBe(parameterCount(ESM2_TINY) + rotaryElements);
  });

  it('counts dnabert parameters exactly', () => {
    expect(inspectOnnxModel(dnabert.modelBytes).parameterCount).toBe(parameterCount(DNABERT_TINY));
  });

  it('sizes float32 initializers at 4 bytes', () => {
    expect(inspection.initializerBytes).toBe(inspection.parameterCount * 4);
  });

  it('groups fp16 initializers by type', () => {
    const fp16 = inspectOnnxModel(esm2Fp16.modelBytes);
    expect(fp16.initializersByType).toEqual([{ elemType: 'float16', tensorCount: 37, elementCount: inspection.parameterCount, bytes: inspection.parameterCount * 2 }]);
  });

  it('reads the fp16 output type', () => {
    expect(inspectOnnxModel(esm2Fp16.modelBytes).outputs[0].elemType).toBe('float16');
  });

  it('reads opset and IR version', () => {
    expect({ opset: inspection.opsetVersion, ir: inspection.irVersion, producer: inspection.producerName }).toEqual({
      opset: 17,
      ir: 8,
      producer: 'webgpu-batch-profiler',
    });
  });

  it('counts operators by type', () => {
    const counts = new Map(inspection.opTypes.map((op) => [op.opType, op.count]));
    // Per layer: the q, k, v, out, fc1 and fc2 projections, QKᵀ and the weighted sum of values.
    expect(counts.get('MatMul')).toBe(8 * ESM2_TINY.layers);
    expect(counts.get('LayerNormalization')).toBe(2 * ESM2_TINY.layers + 1);
  });

  it('finds the token embedding table', () => {
    expect(inspection.embedding).toEqual({ initializerName: 'embed_tokens.weight', inputName: 'input_ids', vocabSize: 33, hiddenSize: ESM2_TINY.hidden });
  });

  it('reports no external data for an embedded model', () => {
    expect(inspection.externalDataFiles).toEqual([]);
  });

  it('lists external data locations', () => {
    const external = inspectOnnxModel(buildExternalDataModel().modelBytes);
    expect(external.externalDataFiles).toEqual(['model.onnx_data']);
    expect(external.initializerBytes).toBe(inspection.initializerBytes);
  });

  it('drops initializers listed as inputs', () => {
    // IR versions before 4 list every initializer among the graph inputs as well.
    const model = onnx.ModelProto.decode(esm2.modelBytes);
    model.graph?.input?.push({ name: 'embed_tokens.weight', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 33 }, { dimValue: 32 }] } } } });
    const reencoded = onnx.ModelProto.encode(model).finish();
    expect(inspectOnnxModel(reencoded).inputs.map((input) => input.name)).toEqual(['input_ids', 'attention_mask']);
  });
});

describe('inspectOnnxModel errors', () => {
  const cases: { name: string; bytes: Uint8Array; code: ModelSourceErrorCode; message: RegExp }[] = [
    { name: 'empty bytes', bytes: new Uint8Array(0), code: 'not-onnx', message: /^model\.onnx is empty \(0 bytes\)\. Load the \.onnx file/ },
    { name: 'an HTML page', bytes: TEXT.encode('\n  <!DOCTYPE html><html><body>Sign in</body></html>'), code: 'html', message: /^model\.onnx is an HTML page, not an ONNX model\. .*\/resolve\// },
    { name: 'an html tag without doctype', bytes: TEXT.encode('<HTML><body></body></HTML>'), code: 'html', message: /is an HTML page/ },
    {
      name: 'a Git LFS pointer',
      bytes: TEXT.encode('version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 10\n'),
      code: 'not-onnx',
      message: /^model\.onnx is a Git LFS pointer file, not the model\. .*git lfs pull/,
    },
    { name: 'a cut-off model', bytes: esm2.modelBytes.subarray(0, 70_000), code: 'truncated', message: /^model\.onnx ends early: .* 70000 bytes stop in the middle of a field .* Fetch the file again\.$/ },
    { name: 'JSON text', bytes: TEXT.encode('{"model_type": "esm"}'), code: 'not-onnx', message: /^model\.onnx is not an ONNX model: the protobuf decoder failed/ },
    { name: 'a model without a graph', bytes: onnx.ModelProto.encode({ irVersion: 8 }).finish(), code: 'not-onnx', message: /has no graph nodes or outputs/ },
    { name: 'an external data file', bytes: buildExternalDataModel().data, code: 'not-onnx', message: /^model\.onnx is not an ONNX model/ },
  ];

  it.each(cases)('inspectOnnxModel rejects $name', ({ bytes, code, message }) => {
    const error = errorOf(() => inspectOnnxModel(bytes, { sourceName: 'model.onnx' }));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it('names the model as given', () => {
    expect(errorOf(() => inspectOnnxModel(new Uint8Array(0))).message).toMatch(/^The model is empty/);
  });

  it('puts the code into details', () => {
    expect(errorOf(() => inspectOnnxModel(new Uint8Array(0))).details).toEqual({ code: 'not-onnx', actualBytes: 0 });
  });
});

describe('mapModelInputs', () => {
  it('maps the generated graph inputs', () => {
    const mapping = mapModelInputs(inspectOnnxModel(esm2.modelBytes));
    expect(mapping.inputIds).toEqual({
      name: 'input_ids',
      elemType: 'int64',
      dims: [{ kind: 'free', dimParam: 'batch' }, { kind: 'free', dimParam: 'sequence' }],
    });
    expect(mapping.attentionMask?.name).toBe('attention_mask');
    expect(mapping.tokenTypeIds).toBeNull();
    expect(mapping.output).toEqual({ name: 'last_hidden_state', elemType: 'float32', dims: ['batch', 'sequence', 32], hiddenSize: 32 });
  });

  it('prefers last_hidden_state over the first output', () => {
    const mapping = mapModelInputs(inspectOnnxModel(dnabert.modelBytes));
    expect(mapping.output.name).toBe('last_hidden_state');
  });

  it('maps reordered int32 inputs by name', () => {
    const mapping = mapModelInputs(inspectOnnxModel(buildInt32ReorderedModel()));
    expect([mapping.inputIds.name, mapping.attentionMask?.name, mapping.tokenTypeIds?.name]).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
    expect([mapping.inputIds.elemType, mapping.attentionMask?.elemType, mapping.tokenTypeIds?.elemType]).toEqual(['int32', 'int32', 'int32']);
  });

  it('picks the first 3-D float output', () => {
    const mapping = mapModelInputs(inspectOnnxModel(buildInt32ReorderedModel()));
    expect(mapping.output).toEqual({ name: 'embeddings', elemType: 'float32', dims: ['batch_size', 'sequence_length', 4], hiddenSize: 4 });
  });

  it('reads fixed batch and sequence sizes', () => {
    const mapping = mapModelInputs(inspectOnnxModel(buildFixedBatchModel()));
    expect({ batch: mapping.fixedBatchSize, sequence: mapping.fixedSequenceLength }).toEqual({ batch: 1, sequence: 16 });
  });

  it('rejects pixel_values and lists fillable inputs', () => {
    const error = errorOf(() => mapModelInputs(inspectOnnxModel(buildPixelValuesModel())));
    expect(error.code).toBe('unsupported-input');
    expect(error.message).toMatch(/^The model has an input 'pixel_values' \(float32 \[batch, 3, 8, 8\]\) that the profiler cannot fill\./);
    expect(error.message).toContain('input_ids (or ids, tokens, token_ids, input), attention_mask');
    expect(error.details.names).toEqual(['pixel_values']);
  });

  it.each([
    ['ids', 'inputIds'],
    ['tokens', 'inputIds'],
    ['INPUT_IDS:0', 'inputIds'],
    ['mask', 'attentionMask'],
    ['input_mask', 'attentionMask'],
    ['segment_ids', 'tokenTypeIds'],
  ] as const)('maps the alias %s to %s', (name, role) => {
    const inputs = [value(name, 'int64', ['b', 's'])];
    if (role !== 'inputIds') inputs.push(value('input_ids', 'int64', ['b', 's']));
    expect(mapModelInputs(inspectionWith(inputs))[role]?.name).toBe(name);
  });

  it('documents every alias in the error message', () => {
    const message = errorOf(() => mapModelInputs(inspectionWith([value('pixel_values', 'float32', [1])]))).message;
    for (const alias of Object.values(INPUT_NAME_ALIASES).flat()) expect(message).toContain(alias);
  });

  const invalidInputs: { name: string; inputs: OnnxValueInfo[]; message: RegExp }[] = [
    {
      name: 'float token ids',
      inputs: [value('input_ids', 'float32', ['batch', 'sequence'])],
      message: /^The model's input 'input_ids' is float32 \[batch, sequence\], but the profiler fills it with integer token values \(int64 or int32\)\./,
    },
    {
      name: 'a 3-D mask',
      inputs: [value('input_ids', 'int64', ['b', 's']), value('attention_mask', 'int64', ['b', 1, 's'])],
      message: /^The model's input 'attention_mask' has 3 dimensions \[b, 1, s\], but the profiler feeds \[batch, sequence\]\./,
    },
    {
      name: 'a missing token id input',
      inputs: [value('attention_mask', 'int64', ['b', 's'])],
      message: /^The model has no input for token ids \(its inputs: 'attention_mask'\)\./,
    },
    {
      name: 'two token id inputs',
      inputs: [value('input_ids', 'int64', ['b', 's']), value('ids', 'int64', ['b', 's'])],
      message: /^The model has two inputs for the same role: 'input_ids' and 'ids'\./,
    },
  ];

  it.each(invalidInputs)('rejects $name', ({ inputs, message }) => {
    const error = errorOf(() => mapModelInputs(inspectionWith(inputs)));
    expect(error.code).toBe('unsupported-input');
    expect(error.message).toMatch(message);
  });

  it('treats an undeclared shape as free', () => {
    const mapping = mapModelInputs(inspectionWith([{ name: 'input_ids', elemType: 'int32', dims: [], hasShape: false }]));
    expect(mapping.inputIds.dims).toEqual([{ kind: 'free', dimParam: null }, { kind: 'free', dimParam: null }]);
  });

  it('rejects a model without a 3-D float output', () => {
    const error = errorOf(() => mapModelInputs(inspectionWith([value('input_ids', 'int64', ['b', 's'])], [value('pooled', 'float32', ['b', 8])])));
    expect(error.code).toBe('unsupported-output');
    expect(error.message).toMatch(/^The model has no output to read embeddings from: expected 'last_hidden_state' or a float \[batch, sequence, hidden\] output, found 'pooled' \(float32 \[b, 8\]\)\./);
  });
});

describe('checkBatchShapeAllowed', () => {
  const fixed = mapModelInputs(inspectOnnxModel(buildFixedBatchModel()));
  const free = mapModelInputs(inspectOnnxModel(esm2.modelBytes));

  it('accepts any shape on free dims', () => {
    expect(checkBatchShapeAllowed(free, 64, 1024)).toEqual({ ok: true });
  });

  it('accepts the fixed shape', () => {
    expect(checkBatchShapeAllowed(fixed, 1, 16)).toEqual({ ok: true });
  });

  it('rejects another batch size', () => {
    const check = checkBatchShapeAllowed(fixed, 8, 16);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.reason).toMatch(/^The model fixes the batch dimension of input 'input_ids' to 1, so it cannot run a batch of 8\. Re-export it with a dynamic batch axis/);
  });

  it('rejects another sequence length', () => {
    const check = checkBatchShapeAllowed(fixed, 1, 40);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.reason).toMatch(/^The model fixes the sequence dimension of input 'input_ids' to 16 tokens, so it cannot run a batch padded to 40\. Pad every batch to 16 tokens/);
  });
});

describe('freeDimensionOverridesFor', () => {
  it('sets the named batch and sequence dims', () => {
    const mapping = mapModelInputs(inspectOnnxModel(buildInt32ReorderedModel()));
    expect(freeDimensionOverridesFor(mapping, 4, 12)).toEqual({ batch_size: 4, sequence_length: 12 });
  });

  it('returns nothing for fixed dims', () => {
    expect(freeDimensionOverridesFor(mapModelInputs(inspectOnnxModel(buildFixedBatchModel())), 1, 16)).toEqual({});
  });

  it('leaves out a name used on both axes', () => {
    const mapping = mapModelInputs(inspectionWith([value('input_ids', 'int64', ['n', 'n']), value('attention_mask', 'int64', ['batch', 'n'])]));
    expect(freeDimensionOverridesFor(mapping, 2, 9)).toEqual({ batch: 2 });
  });
});

describe('identifyArchitecture', () => {
  const esm2Inspection = inspectOnnxModel(esm2.modelBytes);
  const dnabertInspection = inspectOnnxModel(dnabert.modelBytes);
  /** A graph without an embedding table or a last_hidden_state output, so only config.json gives sizes. */
  const noGraphSizes = inspectionWith([], []);
  const esmConfig = { model_type: 'esm', num_hidden_layers: 6, hidden_size: 320, num_attention_heads: 20, intermediate_size: 1280, vocab_size: 33, position_embedding_type: 'rotary' };
  const dnabertSConfig = { model_type: 'bert', num_hidden_layers: 12, hidden_size: 768, num_attention_heads: 12, intermediate_size: 3072, vocab_size: 4096 };

  it('reads an ESM config', () => {
    expect(identifyArchitecture(esmConfig, noGraphSizes)).toEqual({
      family: 'esm2',
      layers: 6,
      hidden: 320,
      heads: 20,
      ffn: 1280,
      vocab: 33,
      source: 'config.json',
      modelType: 'esm',
      notes: [],
    });
  });

  it('reads a BERT config with 4096 tokens as dnabert', () => {
    expect(identifyArchitecture(dnabertSConfig, noGraphSizes)).toMatchObject({ family: 'dnabert', layers: 12, hidden: 768, vocab: 4096, source: 'config.json' });
  });

  it('reads a BERT config with ALiBi as dnabert', () => {
    const config = { model_type: 'bert', hidden_size: 48, vocab_size: 64, alibi_starting_size: 512 };
    expect(identifyArchitecture(config, dnabertInspection).family).toBe('dnabert');
  });

  it('reads a plain BERT config as bert', () => {
    expect(identifyArchitecture({ ...dnabertSConfig, vocab_size: 30522 }, noGraphSizes).family).toBe('bert');
  });

  it('reports an unknown model_type', () => {
    const info = identifyArchitecture({ model_type: 'roberta', hidden_size: 768 }, noGraphSizes);
    expect(info).toMatchObject({ family: 'unknown', source: 'config.json', modelType: 'roberta', hidden: 768 });
    expect(info.notes).toEqual(["config.json has model_type 'roberta', which the profiler does not know."]);
  });

  it('notes a hidden size that disagrees with the graph', () => {
    const info = identifyArchitecture(esmConfig, esm2Inspection);
    expect(info.notes).toEqual([
      "config.json gives hidden_size 320, but the graph's embedding or output has 32.",
    ]);
  });

  it('notes ESM-1 positions', () => {
    const info = identifyArchitecture({ ...esmConfig, position_embedding_type: 'absolute' }, noGraphSizes);
    expect(info.notes[0]).toMatch(/position_embedding_type 'absolute', but ESM-2 uses rotary positions/);
  });

  it('ignores config sizes that are not positive integers', () => {
    const info = identifyArchitecture({ model_type: 'esm', hidden_size: '320', num_hidden_layers: 0 }, noGraphSizes);
    expect(info).toEqual({ family: 'esm2', source: 'config.json', modelType: 'esm', notes: [] });
  });

  it('reads an esm2 graph without config', () => {
    expect(identifyArchitecture(null, esm2Inspection)).toEqual({
      family: 'esm2',
      vocab: 33,
      hidden: 32,
      layers: 2,
      source: 'graph',
      notes: ['The layer count 2 is estimated from 5 LayerNormalization nodes (2 per layer plus 1).'],
    });
  });

  it('reads dnabert graph sizes without config', () => {
    // The tiny model's vocabulary (64) is not DNABERT's 4096, so the family stays unknown.
    expect(identifyArchitecture(null, dnabertInspection)).toMatchObject({ family: 'unknown', vocab: 64, hidden: 48, layers: 2, source: 'graph' });
  });

  it('falls back to the graph without model_type', () => {
    expect(identifyArchitecture({ hidden_size: 32 }, esm2Inspection).source).toBe('graph');
  });

  it('returns unknown without config or embedding', () => {
    expect(identifyArchitecture(null, inspectionWith([], [value('out', 'float32', ['b', 's', null])]))).toEqual({ family: 'unknown', source: 'unknown', notes: [] });
  });
});
