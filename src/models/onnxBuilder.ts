/**
 * A small ONNX graph builder over the protobufjs classes of onnx-proto. It names node outputs itself,
 * deduplicates constants, fills initializers lazily (storing float ones as float32 or float16) and,
 * above a size threshold, moves initializers into one external data file, which keeps the protobuf
 * under its 2 GB limit.
 */
// onnx-proto is a CommonJS module whose `module.exports` is `{ onnx }`, so Node's ES module loader (tsx,
// bundle-free scripts) exposes only its default export, and `import { onnx } from 'onnx-proto'` fails
// there. The default import works in Node, Vite and Vitest alike, and TypeScript still resolves the
// namespace types through it.
import onnxProto from 'onnx-proto';
import { float32ArrayToFloat16Bits, float32ToFloat16Bits } from './float16';

const { onnx } = onnxProto;

type TensorProtoInit = onnxProto.onnx.ITensorProto;
type NodeProtoInit = onnxProto.onnx.INodeProto;
type AttributeProtoInit = onnxProto.onnx.IAttributeProto;
type ValueInfoProtoInit = onnxProto.onnx.IValueInfoProto;

/** ONNX IR version 8, the newest that the onnx-proto schema (ONNX 1.10) describes. */
const IR_VERSION = 8;
const DEFAULT_OPSET = 17;
/** Byte alignment of each tensor in the external data file, so any typed array can view it. */
const EXTERNAL_DATA_ALIGNMENT_BYTES = 64;

export type ElementType = 'float32' | 'float16' | 'int64';

/** Element type of a graph's float initializers, constants and activations. */
export type FloatElementType = 'float32' | 'float16';

/** ONNX TensorProto.DataType codes, for tensors and for the `to` attribute of Cast. */
export const DATA_TYPES: Record<ElementType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  int64: onnx.TensorProto.DataType.INT64,
};

const BYTES_PER_ELEMENT: Record<FloatElementType, number> = { float32: 4, float16: 2 };

/** An attribute value with its ONNX type, built by the `attr` helpers. */
export type Attribute =
  | { type: 'int'; value: number }
  | { type: 'ints'; value: number[] }
  | { type: 'float'; value: number }
  | { type: 'floats'; value: number[] }
  | { type: 'string'; value: string };

/** Constructors for typed node attributes, such as `{ axis: attr.int(-1), epsilon: attr.float(1e-5) }`. */
export const attr = {
  int: (value: number): Attribute => ({ type: 'int', value }),
  ints: (value: number[]): Attribute => ({ type: 'ints', value }),
  float: (value: number): Attribute => ({ type: 'float', value }),
  floats: (value: number[]): Attribute => ({ type: 'floats', value }),
  string: (value: string): Attribute => ({ type: 'string', value }),
};

/**
 * Writes an initializer's values into float32 storage that the builder allocated, already zeroed. For a
 * float16 initializer the builder then rounds the values to float16.
 */
export type Float32Fill = (values: Float32Array) => void;

export interface InitializerOptions {
  /** Whether the tensor counts as a model parameter. Lookup tables such as rotary cos/sin do not. Default true. */
  parameter?: boolean;
}

/** One external data file, in the form that onnxruntime-web's `externalData` session option takes. */
export interface ExternalDataFile {
  path: string;
  data: Uint8Array;
}

export interface BuildOptions {
  graphName: string;
  /**
   * Moves every initializer into the file at `path` when their total size exceeds `thresholdBytes`.
   * Without it, initializers stay inside the protobuf.
   */
  externalData?: { path: string; thresholdBytes: number };
}

export interface BuildResult {
  modelBytes: Uint8Array;
  /** Empty when the initializers are embedded. */
  externalData: ExternalDataFile[];
  /** Elements of the initializers marked as parameters. */
  parameterCount: number;
  /** Bytes of the initializers marked as parameters. */
  parameterBytes: number;
  /** Bytes of all initializers, parameters and lookup tables. */
  initializerBytes: number;
}

export interface GraphBuilderOptions {
  /** ONNX opset of the default domain. Default 17. */
  opsetVersion?: number;
  /**
   * Element type of the graph's float values. `addFloatInitializer` and `constantFloat` use it, and graph
   * writers read it from `floatType` for Cast targets and outputs, so one writer builds both a float32
   * and a float16 graph. Default float32.
   */
  floatType?: FloatElementType;
}

interface PendingInitializer {
  name: string;
  dims: number[];
  elementCount: number;
  elementType: FloatElementType;
  fill: Float32Fill;
  parameter: boolean;
}

/** Builds one ONNX graph in the default domain. Add nodes in topological order. */
export class OnnxGraphBuilder {
  private readonly nodes: NodeProtoInit[] = [];
  private readonly inputs: ValueInfoProtoInit[] = [];
  private readonly outputs: ValueInfoProtoInit[] = [];
  private readonly initializers: PendingInitializer[] = [];
  private readonly usedNames = new Set<string>();
  private readonly constantsByKey = new Map<string, string>();
  private float16Scratch = new Float32Array(0);
  private readonly opsetVersion: number;
  /** Element type of the graph's float values, which graph writers use for Cast targets, outputs and weights. */
  readonly floatType: FloatElementType;

  constructor(options: GraphBuilderOptions = {}) {
    this.opsetVersion = options.opsetVersion ?? DEFAULT_OPSET;
    this.floatType = options.floatType ?? 'float32';
    if (!Object.hasOwn(BYTES_PER_ELEMENT, this.floatType)) {
      throw new RangeError(`Invalid float type "${String(this.floatType)}" for an ONNX graph. Valid types: float32, float16.`);
    }
  }

  /** Declares a graph input. A string dimension is symbolic, such as "batch". */
  addInput(name: string, elementType: ElementType, dims: (number | string)[]): string {
    this.claimName(name);
    this.inputs.push(valueInfo(name, elementType, dims));
    return name;
  }

  /** Declares a graph output. `name` must be the output of a node added before `build`. */
  addOutput(name: string, elementType: ElementType, dims: (number | string)[]): void {
    this.outputs.push(valueInfo(name, elementType, dims));
  }

  /**
   * Declares a float32 initializer. `fill` runs during `build`, in declaration order, once storage is
   * allocated. With external data it writes straight into the weights file, so no copy is made. Embedded
   * values are copied once more by the protobuf encoder.
   */
  addFloat32Initializer(name: string, dims: number[], fill: Float32Fill, options: InitializerOptions = {}): string {
    return this.addInitializer('float32', name, dims, fill, options);
  }

  /**
   * Declares an initializer of the builder's `floatType`. `fill` writes float32 values as for
   * `addFloat32Initializer`. For float16, `build` rounds them to nearest even, one tensor at a time.
   */
  addFloatInitializer(name: string, dims: number[], fill: Float32Fill, options: InitializerOptions = {}): string {
    return this.addInitializer(this.floatType, name, dims, fill, options);
  }

  /** Adds a Constant node with int64 values and returns its output name. Equal constants share one node. */
  constantInt64(values: number[], dims: number[] = [values.length]): string {
    const data = new Uint8Array(BigInt64Array.from(values, (value) => BigInt(value)).buffer);
    return this.constant('int64', dims, values, data);
  }

  /** Adds a Constant node with float32 values and returns its output name. Equal constants share one node. */
  constantFloat32(values: number[], dims: number[] = [values.length]): string {
    const data = new Uint8Array(Float32Array.from(values).buffer);
    return this.constant('float32', dims, values, data);
  }

  /**
   * Adds a Constant node of the builder's `floatType` and returns its output name. Float16 values are
   * rounded to nearest even, so a value beyond ±65504 becomes ±Infinity. Pick constants that fit.
   */
  constantFloat(values: number[], dims: number[] = [values.length]): string {
    if (this.floatType === 'float32') return this.constantFloat32(values, dims);
    const data = new Uint8Array(Uint16Array.from(values, float32ToFloat16Bits).buffer);
    return this.constant('float16', dims, values, data);
  }

  /** Adds a node with one output and returns the output name. `name` sets the node and output name. */
  op(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, name?: string): string {
    return this.opWithOutputs(opType, inputs, 1, attributes, name)[0];
  }

  /** Adds a node with `outputCount` outputs and returns their names. */
  opWithOutputs(
    opType: string,
    inputs: string[],
    outputCount: number,
    attributes: Record<string, Attribute> = {},
    name?: string,
  ): string[] {
    const nodeName = this.claimName(name ?? `${opType}_${this.nodes.length}`);
    const outputs =
      outputCount === 1 ? [nodeName] : Array.from({ length: outputCount }, (_, index) => this.claimName(`${nodeName}:${index}`));
    this.nodes.push({
      name: nodeName,
      opType,
      input: inputs,
      output: outputs,
      attribute: Object.entries(attributes).map(([attributeName, value]) => attributeProto(attributeName, value)),
    });
    return outputs;
  }

  /** Allocates and fills the initializers, then encodes the model. */
  build(options: BuildOptions): BuildResult {
    assertLittleEndian();

    let parameterCount = 0;
    let parameterBytes = 0;
    let initializerBytes = 0;
    for (const pending of this.initializers) {
      const bytes = pending.elementCount * BYTES_PER_ELEMENT[pending.elementType];
      initializerBytes += bytes;
      if (pending.parameter) {
        parameterCount += pending.elementCount;
        parameterBytes += bytes;
      }
    }

    const external = options.externalData;
    const useExternal = external !== undefined && initializerBytes > external.thresholdBytes;
    const { tensors, externalData } = useExternal ? this.fillExternal(external.path) : this.fillEmbedded();

    const modelBytes = onnx.ModelProto.encode({
      irVersion: IR_VERSION,
      producerName: 'webgpu-batch-profiler',
      opsetImport: [{ domain: '', version: this.opsetVersion }],
      graph: {
        name: options.graphName,
        node: this.nodes,
        input: this.inputs,
        output: this.outputs,
        initializer: tensors,
      },
    }).finish();

    return { modelBytes, externalData, parameterCount, parameterBytes, initializerBytes };
  }

  private addInitializer(elementType: FloatElementType, name: string, dims: number[], fill: Float32Fill, options: InitializerOptions): string {
    this.claimName(name);
    const elementCount = dims.reduce((total, dim) => total * dim, 1);
    this.initializers.push({ name, dims: [...dims], elementType, elementCount, fill, parameter: options.parameter ?? true });
    return name;
  }

  private fillEmbedded(): { tensors: TensorProtoInit[]; externalData: ExternalDataFile[] } {
    const tensors = this.initializers.map((pending) => {
      let rawData: Uint8Array;
      if (pending.elementType === 'float32') {
        const values = new Float32Array(pending.elementCount);
        pending.fill(values);
        rawData = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
      } else {
        const bits = this.fillFloat16(pending, new Uint16Array(pending.elementCount));
        rawData = new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength);
      }
      return { name: pending.name, dims: pending.dims, dataType: DATA_TYPES[pending.elementType], rawData };
    });
    return { tensors, externalData: [] };
  }

  private fillExternal(path: string): { tensors: TensorProtoInit[]; externalData: ExternalDataFile[] } {
    const offsets: number[] = [];
    let totalBytes = 0;
    for (const pending of this.initializers) {
      offsets.push(totalBytes);
      totalBytes = alignUp(totalBytes + pending.elementCount * BYTES_PER_ELEMENT[pending.elementType], EXTERNAL_DATA_ALIGNMENT_BYTES);
    }

    const data = new Uint8Array(totalBytes);
    const tensors = this.initializers.map((pending, index) => {
      let byteLength: number;
      if (pending.elementType === 'float32') {
        const values = new Float32Array(data.buffer, offsets[index], pending.elementCount);
        pending.fill(values);
        byteLength = values.byteLength;
      } else {
        byteLength = this.fillFloat16(pending, new Uint16Array(data.buffer, offsets[index], pending.elementCount)).byteLength;
      }
      return {
        name: pending.name,
        dims: pending.dims,
        dataType: DATA_TYPES[pending.elementType],
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: path },
          { key: 'offset', value: String(offsets[index]) },
          { key: 'length', value: String(byteLength) },
        ],
      };
    });
    return { tensors, externalData: [{ path, data }] };
  }

  /**
   * Runs a float16 initializer's fill on zeroed float32 scratch storage and writes the rounded values into
   * `target`. The scratch buffer grows to the largest float16 initializer and is reused.
   */
  private fillFloat16(pending: PendingInitializer, target: Uint16Array): Uint16Array {
    if (this.float16Scratch.length < pending.elementCount) this.float16Scratch = new Float32Array(pending.elementCount);
    const values = this.float16Scratch.subarray(0, pending.elementCount).fill(0);
    pending.fill(values);
    return float32ArrayToFloat16Bits(values, target);
  }

  private constant(elementType: ElementType, dims: number[], values: number[], data: Uint8Array): string {
    const key = `${elementType}|${dims.join(',')}|${values.join(',')}`;
    const existing = this.constantsByKey.get(key);
    if (existing !== undefined) return existing;

    const output = this.claimName(`const_${this.constantsByKey.size}`);
    this.nodes.push({
      name: output,
      opType: 'Constant',
      output: [output],
      attribute: [{ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: { dims, dataType: DATA_TYPES[elementType], rawData: data } }],
    });
    this.constantsByKey.set(key, output);
    return output;
  }

  private claimName(name: string): string {
    if (this.usedNames.has(name)) throw new Error(`Duplicate ONNX value name "${name}". Give each input, initializer and node a unique name.`);
    this.usedNames.add(name);
    return name;
  }
}

function valueInfo(name: string, elementType: ElementType, dims: (number | string)[]): ValueInfoProtoInit {
  return {
    name,
    type: {
      tensorType: {
        elemType: DATA_TYPES[elementType],
        shape: { dim: dims.map((dim) => (typeof dim === 'string' ? { dimParam: dim } : { dimValue: dim })) },
      },
    },
  };
}

function attributeProto(name: string, attribute: Attribute): AttributeProtoInit {
  const types = onnx.AttributeProto.AttributeType;
  switch (attribute.type) {
    case 'int':
      return { name, type: types.INT, i: attribute.value };
    case 'ints':
      return { name, type: types.INTS, ints: attribute.value };
    case 'float':
      return { name, type: types.FLOAT, f: attribute.value };
    case 'floats':
      return { name, type: types.FLOATS, floats: attribute.value };
    case 'string':
      return { name, type: types.STRING, s: new TextEncoder().encode(attribute.value) };
  }
}

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/** ONNX raw data is little-endian, and typed arrays use the platform's byte order. */
function assertLittleEndian(): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new Error('Building ONNX models needs a little-endian platform, because typed arrays are written to the model as raw bytes.');
  }
}
