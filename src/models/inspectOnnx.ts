/**
 * Reads what the profiler needs from a user's ONNX export before it creates a session: the graph's
 * inputs and outputs, parameter and weight sizes, external data files and operators. Maps the inputs to
 * token ids, attention mask and token types, checks fixed shapes against a batch, and identifies the
 * architecture from config.json or the graph.
 */
// onnx-proto is a CommonJS module, and onnxBuilder.ts explains why the default import is used.
import onnxProto from 'onnx-proto';
import { ModelSourceError, type ModelConfigJson } from './modelSourceError';

const { onnx } = onnxProto;

type Long = { toNumber(): number };
type GraphProto = onnxProto.onnx.IGraphProto;
type TensorProto = onnxProto.onnx.ITensorProto;
type ValueInfoProto = onnxProto.onnx.IValueInfoProto;

/** ONNX element type names, as onnxruntime-web's Tensor types spell them where they exist. */
const ELEMENT_TYPE_NAMES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  14: 'complex64',
  15: 'complex128',
  16: 'bfloat16',
};

const BYTES_PER_ELEMENT: Record<string, number> = {
  float32: 4, uint8: 1, int8: 1, uint16: 2, int16: 2, int32: 4, int64: 8, bool: 1, float16: 2, float64: 8,
  uint32: 4, uint64: 8, complex64: 8, complex128: 16, bfloat16: 2,
};

/**
 * Element type of a tensor: 'int64', 'int32', 'float32', 'float16' and the other names of
 * ELEMENT_TYPE_NAMES, 'type N' for a code that ONNX 1.10 does not define, or 'non-tensor' for
 * sequences and maps.
 */
export type ElementTypeName = string;

/** One dimension: a fixed size, a symbolic name (dim_param), or null when the export leaves it unnamed. */
export type OnnxDim = number | string | null;

export interface OnnxValueInfo {
  name: string;
  elemType: ElementTypeName;
  /** Dimensions in order. Empty for a scalar, and also when `hasShape` is false. */
  dims: OnnxDim[];
  /** False when the export declares no shape, so even the rank is unknown. */
  hasShape: boolean;
}

export interface OnnxInitializerSummary {
  elemType: ElementTypeName;
  /** Number of initializers of this type. */
  tensorCount: number;
  elementCount: number;
  bytes: number;
}

export interface OnnxOpCount {
  /** Operator set domain, '' for the default ONNX domain and 'com.microsoft' for onnxruntime's contrib ops. */
  domain: string;
  opType: string;
  count: number;
}

/** The token embedding table: the initializer that a Gather node indexes with a graph input. */
export interface OnnxEmbeddingTable {
  initializerName: string;
  inputName: string;
  vocabSize: number;
  hiddenSize: number;
}

export interface OnnxInspection {
  /** Graph inputs that are not initializers (IR versions before 4 list initializers as inputs too). */
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  /** Sum of the element counts of all initializers: weights and also any lookup tables or shape constants. */
  parameterCount: number;
  /** Bytes of all initializers, embedded or external. */
  initializerBytes: number;
  /** Initializers grouped by element type, largest first, which shows an fp16 or quantized export. */
  initializersByType: OnnxInitializerSummary[];
  /** External data locations that the initializers reference, in order of first use. */
  externalDataFiles: string[];
  /** Operators of the main graph and its subgraphs, most frequent first. */
  opTypes: OnnxOpCount[];
  /** Version of the default ONNX operator set, or null when the model imports none. */
  opsetVersion: number | null;
  opsetImports: { domain: string; version: number }[];
  irVersion: number;
  producerName: string;
  embedding: OnnxEmbeddingTable | null;
}

/** Options of `inspectOnnxModel`. */
export interface InspectOptions {
  /** Name of the model in error messages, such as its file name or URL. Default 'The model'. */
  sourceName?: string;
}

const LFS_POINTER_PREFIX = 'version https://git-lfs.github.com/spec/';

/**
 * Inspects ONNX model bytes. Throws ModelSourceError with code 'html' for a web page, 'not-onnx' for
 * empty bytes, a Git LFS pointer, bytes that do not decode or a model without a graph, and 'truncated'
 * for a model whose protobuf ends early.
 */
export function inspectOnnxModel(bytes: Uint8Array, options: InspectOptions = {}): OnnxInspection {
  const sourceName = options.sourceName ?? 'The model';
  rejectNonModelBytes(bytes, sourceName);

  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw decodeError(bytes, sourceName, error);
  }

  const graph = model.graph;
  if (!graph || (graph.node ?? []).length === 0 || (graph.output ?? []).length === 0) {
    throw new ModelSourceError(
      'not-onnx',
      `${sourceName} is not an ONNX model: it decodes, but has no graph nodes or outputs. ` +
        'Load the .onnx file of the export, not a weights or external data file.',
      { actualBytes: bytes.byteLength },
    );
  }

  const initializers = graph.initializer ?? [];
  const initializerNames = new Set(initializers.map((tensor) => tensor.name ?? ''));
  const sizes = summarizeInitializers(initializers);
  const opsetImports = (model.opsetImport ?? []).map((entry) => ({ domain: entry.domain ?? '', version: toNumber(entry.version) }));
  const defaultOpset = opsetImports.find((entry) => entry.domain === '' || entry.domain === 'ai.onnx');
  const inputs = (graph.input ?? []).filter((input) => !initializerNames.has(input.name ?? '')).map(describeValue);

  return {
    inputs,
    outputs: (graph.output ?? []).map(describeValue),
    parameterCount: sizes.elementCount,
    initializerBytes: sizes.bytes,
    initializersByType: sizes.byType,
    externalDataFiles: externalDataLocations(initializers),
    opTypes: countOps(graph),
    opsetVersion: defaultOpset?.version ?? null,
    opsetImports,
    irVersion: toNumber(model.irVersion),
    producerName: model.producerName ?? '',
    embedding: findEmbeddingTable(graph, new Set(inputs.map((input) => input.name))),
  };
}

/** Rejects bytes that are plainly not a model, with a message for the usual mix-ups. */
function rejectNonModelBytes(bytes: Uint8Array, sourceName: string): void {
  if (bytes.byteLength === 0) {
    throw new ModelSourceError('not-onnx', `${sourceName} is empty (0 bytes). Load the .onnx file of the export.`, { actualBytes: 0 });
  }
  if (looksLikeHtml(bytes)) {
    throw new ModelSourceError(
      'html',
      `${sourceName} is an HTML page, not an ONNX model. A hub page URL (with /blob/) shows the page. ` +
        'Use the file URL (with /resolve/), or download the file and load it from disk.',
      { actualBytes: bytes.byteLength },
    );
  }
  if (startsWithText(bytes, LFS_POINTER_PREFIX)) {
    throw new ModelSourceError(
      'not-onnx',
      `${sourceName} is a Git LFS pointer file, not the model. Fetch the file through a /resolve/ URL, or run ` +
        '`git lfs pull` in the cloned repository and load the real .onnx file.',
      { actualBytes: bytes.byteLength },
    );
  }
}

/**
 * Turns a protobuf decode failure into 'truncated' or 'not-onnx'. protobufjs reports both a cut-off
 * file and random bytes as "index out of range", so the first field decides. Every ONNX writer seen
 * here (onnx's C++ serializer and protobufjs) writes ir_version, field 1 as a varint, first.
 * NOTE: a file cut exactly at a field boundary decodes without error. It then fails the graph check
 * above, or, when only trailing fields are lost, fails at session creation instead.
 */
function decodeError(bytes: Uint8Array, sourceName: string, error: unknown): ModelSourceError {
  const message = error instanceof Error ? error.message : String(error);
  const startsLikeOnnx = bytes[0] === 0x08;
  if (startsLikeOnnx && /index out of range/.test(message)) {
    return new ModelSourceError(
      'truncated',
      `${sourceName} ends early: it starts like an ONNX model, but its ${bytes.byteLength} bytes stop in the ` +
        `middle of a field (${message}). The download or copy was probably cut off. Fetch the file again.`,
      { actualBytes: bytes.byteLength },
      { cause: error },
    );
  }
  return new ModelSourceError(
    'not-onnx',
    `${sourceName} is not an ONNX model: the protobuf decoder failed (${message}). Load the .onnx file of the export.`,
    { actualBytes: bytes.byteLength },
    { cause: error },
  );
}

/** Returns whether the bytes start, after whitespace and a byte order mark, with `<!DOCTYPE` or `<html`. */
export function looksLikeHtml(bytes: Uint8Array): boolean {
  const head = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, 512)).replace(/^\uFEFF/, '').trimStart().toLowerCase();
  return head.startsWith('<!doctype') || head.startsWith('<html');
}

function startsWithText(bytes: Uint8Array, prefix: string): boolean {
  if (bytes.byteLength < prefix.length) return false;
  return new TextDecoder().decode(bytes.subarray(0, prefix.length)) === prefix;
}

function toNumber(value: number | Long | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

function elementTypeName(code: number | null | undefined): string {
  return ELEMENT_TYPE_NAMES[code ?? 0] ?? `type ${code ?? 0}`;
}

function describeValue(value: ValueInfoProto): OnnxValueInfo {
  const name = value.name ?? '';
  const tensorType = value.type?.tensorType;
  if (!tensorType) return { name, elemType: 'non-tensor', dims: [], hasShape: false };

  const shape = tensorType.shape;
  const dims = (shape?.dim ?? []).map((dim): OnnxDim => {
    if (dim.dimParam) return dim.dimParam;
    if (dim.dimValue !== null && dim.dimValue !== undefined) return toNumber(dim.dimValue);
    return null;
  });
  return { name, elemType: elementTypeName(tensorType.elemType), dims, hasShape: shape !== null && shape !== undefined };
}

function summarizeInitializers(initializers: TensorProto[]): { elementCount: number; bytes: number; byType: OnnxInitializerSummary[] } {
  const byType = new Map<string, OnnxInitializerSummary>();
  let elementCount = 0;
  let bytes = 0;
  for (const tensor of initializers) {
    const elemType = elementTypeName(tensor.dataType);
    const elements = (tensor.dims ?? []).reduce<number>((total, dim) => total * toNumber(dim), 1);
    const tensorBytes = initializerBytes(tensor, elemType, elements);
    elementCount += elements;
    bytes += tensorBytes;

    const summary = byType.get(elemType) ?? { elemType, tensorCount: 0, elementCount: 0, bytes: 0 };
    summary.tensorCount += 1;
    summary.elementCount += elements;
    summary.bytes += tensorBytes;
    byType.set(elemType, summary);
  }
  return { elementCount, bytes, byType: [...byType.values()].sort((a, b) => b.bytes - a.bytes) };
}

/** Bytes of one initializer from its element type, or for strings from the stored data. */
function initializerBytes(tensor: TensorProto, elemType: string, elements: number): number {
  const size = BYTES_PER_ELEMENT[elemType];
  if (size !== undefined) return elements * size;
  if (tensor.rawData) return tensor.rawData.byteLength;
  return (tensor.stringData ?? []).reduce((total, value) => total + value.byteLength, 0);
}

function externalDataLocations(initializers: TensorProto[]): string[] {
  const locations: string[] = [];
  for (const tensor of initializers) {
    if (tensor.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
    const location = (tensor.externalData ?? []).find((entry) => entry.key === 'location')?.value;
    if (location && !locations.includes(location)) locations.push(location);
  }
  return locations;
}

/** Counts operators in `graph` and in the subgraphs of If, Loop and Scan nodes. */
function countOps(graph: GraphProto): OnnxOpCount[] {
  const counts = new Map<string, OnnxOpCount>();
  const visit = (current: GraphProto): void => {
    for (const node of current.node ?? []) {
      const domain = node.domain ?? '';
      const opType = node.opType ?? '';
      const key = `${domain}\u0000${opType}`;
      const entry = counts.get(key) ?? { domain, opType, count: 0 };
      entry.count += 1;
      counts.set(key, entry);
      for (const attribute of node.attribute ?? []) {
        if (attribute.g) visit(attribute.g);
        for (const subgraph of attribute.graphs ?? []) visit(subgraph);
      }
    }
  };
  visit(graph);
  return [...counts.values()].sort((a, b) => b.count - a.count || a.opType.localeCompare(b.opType));
}

/** Finds a Gather whose data is a 2-D initializer and whose indices are a graph input: the token embedding. */
function findEmbeddingTable(graph: GraphProto, inputNames: Set<string>): OnnxEmbeddingTable | null {
  const initializers = new Map((graph.initializer ?? []).map((tensor) => [tensor.name ?? '', tensor]));
  for (const node of graph.node ?? []) {
    if (node.opType !== 'Gather' || (node.domain ?? '') !== '') continue;
    const [dataName, indicesName] = node.input ?? [];
    const table = initializers.get(dataName ?? '');
    if (table === undefined || !inputNames.has(indicesName ?? '')) continue;
    const dims = (table.dims ?? []).map(toNumber);
    if (dims.length !== 2) continue;
    return { initializerName: dataName, inputName: indicesName, vocabSize: dims[0], hiddenSize: dims[1] };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------
// Input mapping

/** A dimension of a mapped input: a fixed size, or free (a dim_param name, or null when unnamed). */
export type MappedDim = { kind: 'fixed'; size: number } | { kind: 'free'; dimParam: string | null };

export interface MappedInput {
  /** Graph input name, to use as the key of the feeds. */
  name: string;
  elemType: 'int64' | 'int32';
  /** [batch, sequence]. Both free for an input without a declared shape. */
  dims: [MappedDim, MappedDim];
}

export interface MappedOutput {
  name: string;
  elemType: ElementTypeName;
  dims: OnnxDim[];
  /** Size of the last dimension when the export fixes it. */
  hiddenSize: number | null;
}

/** Assignment of the graph's inputs to the values that the profiler fills, and the output that it reads. */
export interface InputMapping {
  inputIds: MappedInput;
  /** Null when the graph takes no mask. The profiler then pads without telling the model. */
  attentionMask: MappedInput | null;
  /** Null when the graph takes no token types. When present, the profiler fills it with 0. */
  tokenTypeIds: MappedInput | null;
  output: MappedOutput;
  /** Batch size that the inputs fix, or null when every batch dimension is free. */
  fixedBatchSize: number | null;
  /** Sequence length that the inputs fix, or null when every sequence dimension is free. */
  fixedSequenceLength: number | null;
}

type InputRole = 'inputIds' | 'attentionMask' | 'tokenTypeIds';

/** Accepted graph input names per role, compared in lower case after dropping a ':0' suffix. */
export const INPUT_NAME_ALIASES: Readonly<Record<InputRole, readonly string[]>> = Object.freeze({
  inputIds: ['input_ids', 'ids', 'tokens', 'token_ids', 'input'],
  attentionMask: ['attention_mask', 'mask', 'input_mask', 'attn_mask'],
  tokenTypeIds: ['token_type_ids', 'segment_ids', 'type_ids', 'token_types'],
});

const PREFERRED_OUTPUT_NAME = 'last_hidden_state';
const FLOAT_TYPES = new Set(['float32', 'float16']);

const FILLABLE_INPUTS =
  'The profiler fills int64 or int32 [batch, sequence] inputs named input_ids (or ids, tokens, token_ids, input), ' +
  'attention_mask (or mask, input_mask, attn_mask) and token_type_ids (or segment_ids, type_ids, token_types).';

/**
 * Maps the graph inputs to token ids, attention mask and token types by name, in any order, and picks
 * the output to read: `last_hidden_state`, else the first float output of rank 3. Throws
 * ModelSourceError with code 'unsupported-input' when an input has another name, a non-integer type
 * or a rank other than 2, or when no input takes token ids. Throws 'unsupported-output' when no output
 * fits.
 */
export function mapModelInputs(inspection: OnnxInspection): InputMapping {
  const assigned = new Map<InputRole, MappedInput>();
  for (const input of inspection.inputs) {
    const role = roleOf(input.name);
    if (role === null) {
      throw new ModelSourceError(
        'unsupported-input',
        `The model has an input '${input.name}' (${describeInputType(input)}) that the profiler cannot fill. ` +
          `${FILLABLE_INPUTS} Re-export the model with only these inputs.`,
        { names: [input.name] },
      );
    }
    if (assigned.has(role)) {
      throw new ModelSourceError(
        'unsupported-input',
        `The model has two inputs for the same role: '${assigned.get(role)?.name}' and '${input.name}'. ${FILLABLE_INPUTS}`,
        { names: [assigned.get(role)?.name ?? '', input.name] },
      );
    }
    assigned.set(role, mapInput(input));
  }

  const inputIds = assigned.get('inputIds');
  if (inputIds === undefined) {
    const names = inspection.inputs.map((input) => `'${input.name}'`).join(', ') || 'none';
    throw new ModelSourceError(
      'unsupported-input',
      `The model has no input for token ids (its inputs: ${names}). ${FILLABLE_INPUTS}`,
      { names: inspection.inputs.map((input) => input.name) },
    );
  }

  const mapped = [...assigned.values()];
  return {
    inputIds,
    attentionMask: assigned.get('attentionMask') ?? null,
    tokenTypeIds: assigned.get('tokenTypeIds') ?? null,
    output: pickOutput(inspection.outputs),
    fixedBatchSize: fixedSize(mapped, 0),
    fixedSequenceLength: fixedSize(mapped, 1),
  };
}

function roleOf(inputName: string): InputRole | null {
  const normalized = inputName.toLowerCase().replace(/:0$/, '');
  for (const role of Object.keys(INPUT_NAME_ALIASES) as InputRole[]) {
    if (INPUT_NAME_ALIASES[role].includes(normalized)) return role;
  }
  return null;
}

function describeInputType(input: OnnxValueInfo): string {
  return input.hasShape ? `${input.elemType} [${input.dims.map(formatDim).join(', ')}]` : `${input.elemType}, shape not declared`;
}

function formatDim(dim: OnnxDim): string {
  return dim === null ? '?' : String(dim);
}

function mapInput(input: OnnxValueInfo): MappedInput {
  const elemType = input.elemType;
  if (elemType !== 'int64' && elemType !== 'int32') {
    throw new ModelSourceError(
      'unsupported-input',
      `The model's input '${input.name}' is ${describeInputType(input)}, but the profiler fills it with integer ` +
        `token values (int64 or int32). ${FILLABLE_INPUTS}`,
      { names: [input.name] },
    );
  }
  if (!input.hasShape) {
    const free: MappedDim = { kind: 'free', dimParam: null };
    return { name: input.name, elemType, dims: [free, free] };
  }
  if (input.dims.length !== 2) {
    throw new ModelSourceError(
      'unsupported-input',
      `The model's input '${input.name}' has ${input.dims.length} dimensions [${input.dims.map(formatDim).join(', ')}], ` +
        'but the profiler feeds [batch, sequence]. Re-export the model with 2-D token inputs.',
      { names: [input.name] },
    );
  }
  const [batch, sequence] = input.dims.map(toMappedDim);
  return { name: input.name, elemType, dims: [batch, sequence] };
}

function toMappedDim(dim: OnnxDim): MappedDim {
  // ONNX writers use 0 or a negative value in a few old exports to mean "unknown".
  if (typeof dim === 'number' && dim > 0) return { kind: 'fixed', size: dim };
  return { kind: 'free', dimParam: typeof dim === 'string' ? dim : null };
}

function fixedSize(inputs: MappedInput[], axis: 0 | 1): number | null {
  for (const input of inputs) {
    const dim = input.dims[axis];
    if (dim.kind === 'fixed') return dim.size;
  }
  return null;
}

function pickOutput(outputs: OnnxValueInfo[]): MappedOutput {
  const preferred = outputs.find((output) => output.name === PREFERRED_OUTPUT_NAME);
  const chosen = preferred ?? outputs.find((output) => FLOAT_TYPES.has(output.elemType) && output.hasShape && output.dims.length === 3);
  if (chosen === undefined) {
    const listed = outputs.map((output) => `'${output.name}' (${describeInputType(output)})`).join(', ');
    throw new ModelSourceError(
      'unsupported-output',
      `The model has no output to read embeddings from: expected '${PREFERRED_OUTPUT_NAME}' or a float ` +
        `[batch, sequence, hidden] output, found ${listed}. Export the model for feature extraction ` +
        '(optimum-cli export onnx --task feature-extraction).',
      { names: outputs.map((output) => output.name) },
    );
  }
  const last = chosen.dims[chosen.dims.length - 1];
  return {
    name: chosen.name,
    elemType: chosen.elemType,
    dims: chosen.dims,
    hiddenSize: chosen.dims.length === 3 && typeof last === 'number' && last > 0 ? last : null,
  };
}

/** Result of `checkBatchShapeAllowed`. */
export type ShapeCheck = { ok: true } | { ok: false; reason: string };

/**
 * Checks a batch of `batch` rows padded to `sequenceLength` tokens against the dimensions that the
 * inputs fix. A failure's reason names the input, the fixed dimension and its size.
 */
export function checkBatchShapeAllowed(mapping: InputMapping, batch: number, sequenceLength: number): ShapeCheck {
  for (const input of mappedInputs(mapping)) {
    const [batchDim, sequenceDim] = input.dims;
    if (batchDim.kind === 'fixed' && batchDim.size !== batch) {
      return {
        ok: false,
        reason:
          `The model fixes the batch dimension of input '${input.name}' to ${batchDim.size}, so it cannot run a batch ` +
          `of ${batch}. Re-export it with a dynamic batch axis (optimum-cli does this by default, and ` +
          'torch.onnx.export needs the axis named in dynamic_axes).',
      };
    }
    if (sequenceDim.kind === 'fixed' && sequenceDim.size !== sequenceLength) {
      return {
        ok: false,
        reason:
          `The model fixes the sequence dimension of input '${input.name}' to ${sequenceDim.size} tokens, so it cannot ` +
          `run a batch padded to ${sequenceLength}. Pad every batch to ${sequenceDim.size} tokens, or re-export it with ` +
          'a dynamic sequence axis.',
      };
    }
  }
  return { ok: true };
}

/**
 * Returns onnxruntime's `freeDimensionOverrides` for a batch shape: each named (dim_param) batch and
 * sequence dimension of the mapped inputs, set to `batch` and `sequenceLength`. A session created with
 * them runs that shape only. A name that appears on both axes is left out, because one value cannot
 * serve both.
 */
export function freeDimensionOverridesFor(mapping: InputMapping, batch: number, sequenceLength: number): Record<string, number> {
  const overrides: Record<string, number> = {};
  const conflicting = new Set<string>();
  for (const input of mappedInputs(mapping)) {
    input.dims.forEach((dim, axis) => {
      if (dim.kind !== 'free' || dim.dimParam === null) return;
      const value = axis === 0 ? batch : sequenceLength;
      const existing = overrides[dim.dimParam];
      if (existing !== undefined && existing !== value) conflicting.add(dim.dimParam);
      overrides[dim.dimParam] = value;
    });
  }
  for (const name of conflicting) delete overrides[name];
  return overrides;
}

function mappedInputs(mapping: InputMapping): MappedInput[] {
  return [mapping.inputIds, mapping.attentionMask, mapping.tokenTypeIds].filter((input): input is MappedInput => input !== null);
}

// ---------------------------------------------------------------------------------------------------
// Architecture

export type ArchitectureFamily = 'esm2' | 'dnabert' | 'bert' | 'unknown';

export interface ArchitectureInfo {
  family: ArchitectureFamily;
  layers?: number;
  hidden?: number;
  heads?: number;
  /** Inner size of the feed-forward block (config.json's intermediate_size). */
  ffn?: number;
  vocab?: number;
  /** Origin of the family and sizes. 'unknown' means the caller must ask the user. */
  source: 'config.json' | 'graph' | 'unknown';
  /** config.json's model_type, when present. */
  modelType?: string;
  /** Disagreements between config.json and the graph, and how graph values were estimated. */
  notes: string[];
}

/** Vocabulary size of the DNABERT-2 BPE tokenizer, which DNABERT-S reuses. */
const DNABERT_VOCAB_SIZE = 4096;
/** Vocabulary size of the ESM-2 alphabet. */
const ESM2_VOCAB_SIZE = 33;

/**
 * Identifies the architecture from config.json when it has a `model_type`, else from the graph.
 * - model_type 'esm' gives 'esm2'.
 * - model_type 'bert' gives 'dnabert' with a vocabulary of 4096 (DNABERT-2's BPE) or an
 *   `alibi_starting_size` field (MosaicBERT's ALiBi setting), else 'bert'.
 * - From the graph, the embedding table gives vocabulary and hidden size, a vocabulary of 33 gives
 *   'esm2' and one of 4096 'dnabert', and the LayerNormalization count gives an estimate of the layers.
 * Anything else gives 'unknown'.
 */
export function identifyArchitecture(config: ModelConfigJson | null, inspection: OnnxInspection): ArchitectureInfo {
  const graph = graphSizes(inspection);
  if (config !== null && typeof config.model_type === 'string') {
    return fromConfig(config, config.model_type, graph);
  }
  return fromGraph(graph);
}

interface GraphSizes {
  vocab?: number;
  hidden?: number;
  layers?: number;
  layersNote?: string;
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

function fromConfig(config: ModelConfigJson, modelType: string, graph: GraphSizes): ArchitectureInfo {
  const sizes = {
    layers: positiveInteger(config.num_hidden_layers),
    hidden: positiveInteger(config.hidden_size),
    heads: positiveInteger(config.num_attention_heads),
    ffn: positiveInteger(config.intermediate_size),
    vocab: positiveInteger(config.vocab_size),
  };

  let family: ArchitectureFamily = 'unknown';
  if (modelType === 'esm') family = 'esm2';
  else if (modelType === 'bert') family = sizes.vocab === DNABERT_VOCAB_SIZE || 'alibi_starting_size' in config ? 'dnabert' : 'bert';

  const notes: string[] = [];
  if (family === 'unknown') notes.push(`config.json has model_type '${modelType}', which the profiler does not know.`);
  const positions = config.position_embedding_type;
  if (family === 'esm2' && typeof positions === 'string' && positions !== 'rotary') {
    notes.push(`config.json has position_embedding_type '${positions}', but ESM-2 uses rotary positions. It may be an ESM-1 model.`);
  }
  if (graph.hidden !== undefined && sizes.hidden !== undefined && graph.hidden !== sizes.hidden) {
    notes.push(`config.json gives hidden_size ${sizes.hidden}, but the graph's embedding or output has ${graph.hidden}.`);
  }
  if (graph.vocab !== undefined && sizes.vocab !== undefined && graph.vocab !== sizes.vocab) {
    notes.push(`config.json gives vocab_size ${sizes.vocab}, but the graph's embedding table has ${graph.vocab} rows.`);
  }
  return { family, ...definedOnly(sizes), source: 'config.json', modelType, notes };
}

function fromGraph(graph: GraphSizes): ArchitectureInfo {
  if (graph.vocab === undefined && graph.hidden === undefined) return { family: 'unknown', source: 'unknown', notes: [] };

  let family: ArchitectureFamily = 'unknown';
  if (graph.vocab === ESM2_VOCAB_SIZE) family = 'esm2';
  else if (graph.vocab === DNABERT_VOCAB_SIZE) family = 'dnabert';

  const notes = graph.layersNote ? [graph.layersNote] : [];
  const { vocab, hidden, layers } = graph;
  return { family, ...definedOnly({ vocab, hidden, layers }), source: 'graph', notes };
}

function graphSizes(inspection: OnnxInspection): GraphSizes {
  const sizes: GraphSizes = {};
  if (inspection.embedding !== null) {
    sizes.vocab = inspection.embedding.vocabSize;
    sizes.hidden = inspection.embedding.hiddenSize;
  } else {
    const output = inspection.outputs.find((candidate) => candidate.name === PREFERRED_OUTPUT_NAME);
    const last = output?.dims[output.dims.length - 1];
    if (output?.dims.length === 3 && typeof last === 'number' && last > 0) sizes.hidden = last;
  }

  // ESM-2 has two LayerNorms per layer and a final one. BERT and DNABERT have two per layer and one
  // after the embedding. Either way there are 2·layers + 1, when the export keeps LayerNormalization
  // as one op (opset 17 and later) and fusions have not replaced it.
  const layerNorms = inspection.opTypes
    .filter((op) => op.opType === 'LayerNormalization' || op.opType === 'SkipLayerNormalization')
    .reduce((total, op) => total + op.count, 0);
  if (layerNorms >= 3 && layerNorms % 2 === 1) {
    sizes.layers = (layerNorms - 1) / 2;
    sizes.layersNote = `The layer count ${sizes.layers} is estimated from ${layerNorms} LayerNormalization nodes (2 per layer plus 1).`;
  }
  return sizes;
}

function definedOnly<T extends Record<string, number | undefined>>(values: T): Partial<Record<keyof T, number>> {
  const result: Partial<Record<keyof T, number>> = {};
  for (const key of Object.keys(values) as (keyof T)[]) {
    const value = values[key];
    if (value !== undefined) result[key] = value;
  }
  return result;
}
