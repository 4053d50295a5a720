/**
 * The typed boundary between the page and the profiler worker. The page imports these types only;
 * everything that touches onnxruntime-web stays in the worker.
 */
import type { Backend, BatchUnit, CapacityReport, EnvironmentReport, KernelTimesReport, ModelReport, PointResult, SessionOptionsReport } from '../report/result';
import type { SyntheticProteinOptions } from '../sequences/synthetic';
import type { SyntheticDnaOptions } from '../sequences/syntheticDna';
import type { LastChunkPolicy } from '../sequences/chunking';
import type { InputSummary } from '../sequences/inputPipeline';
import type { BatchShape } from '../gpu/limits';
import type { ModelLoadProgress, ModelRequest } from '../models/modelSources';
import type { ArchitectureOverride } from '../models/userModel';
import type { ModelConfig } from '../models/catalog';

export type { InputSummary } from '../sequences/inputPipeline';

/** DNA chunking before DNABERT-S embeds it. */
export interface ChunkSettings {
  /** Chunk length in bp (VirNucPro uses 300 or 500); null embeds each sequence whole. */
  chunkLengthBp: number | null;
  lastChunk?: LastChunkPolicy;
}
import type { MeasureSettings } from '../profiling/measure';

export type InputRequest =
  | { kind: 'synthetic'; options: SyntheticProteinOptions }
  | { kind: 'synthetic-dna'; options: SyntheticDnaOptions; chunking?: ChunkSettings }
  | { kind: 'fasta'; file: Blob; fileName: string; alphabet?: 'protein' | 'dna'; chunking?: ChunkSettings };

/** Source of a DNABERT-S tokenizer.json. */
export type TokenizerRequest =
  | { kind: 'file'; file: Blob; fileName: string }
  | { kind: 'url'; url: string }
  | { kind: 'hub'; hubId: string; hubBaseUrl?: string };

export interface TokenizerInfo {
  tokenCounts: 'exact' | 'estimated';
  source: string | null;
}

export interface LoadedModel {
  report: ModelReport;
  /** Shapes that limit predictions and FLOP counts use: the catalog entry, or an export's identified architecture. */
  config: ModelConfig;
  /** Time to generate or fetch the graph, in ms. */
  buildMs: number;
  /** Time for `InferenceSession.create`, in ms. */
  sessionCreateMs: number;
  /** GPU bytes live after session creation (the weights, mostly); null on WASM. */
  weightBufferBytes: number | null;
  /** onnxruntime-web storage buffer cache mode of the session, which peak-memory figures depend on. */
  storageBufferCacheMode: string;
  sessionOptions: SessionOptionsReport;
  /** For an ONNX export: its inputs, architecture and files. */
  userModel?: UserModelInfo;
}

export interface ProbeRequest extends MeasureSettings {
  unit: BatchUnit;
  batchSize: number;
  /** Report a batch over maxBufferSize as `buffer-limit` without running it. Default true. */
  checkLimits?: boolean;
  /** Embed one sequence alone after the timed runs and compare it with the batch. Default true. */
  spotCheck?: boolean;
  /** 'worst-case' runs the longest sequences of the input together instead of the usual batch. */
  batchShape?: 'input-order' | 'worst-case';
  /** Release the session first, so that the batch runs in a new one. */
  freshSession?: boolean;
}

/** An ONNX export to load, and what the profiler cannot read from it. */
export interface UserModelRequest {
  source: ModelRequest;
  /** Family and sizes entered by the user, for exports whose architecture cannot be identified. */
  architecture?: ArchitectureOverride | null;
  /** Largest download accepted, model and external data together, in bytes. */
  maxBytes?: number;
  /** False downloads again even when the files are in Cache Storage. Default true. */
  useCache?: boolean;
}

/** Summary of a loaded export, as the page shows it. */
export interface UserModelInfo {
  family: 'esm2' | 'dnabert';
  /** Origin of the family and sizes. */
  architectureSource: 'config.json' | 'graph' | 'unknown' | 'user';
  architectureNotes: string[];
  inputs: { name: string; elemType: string; dims: (number | string | null)[] }[];
  outputName: string;
  fixedBatchSize: number | null;
  fixedSequenceLength: number | null;
  opsetVersion: number | null;
  /** Bytes of the model and its external data together. */
  totalBytes: number;
  files: { file: string; bytes: number; fromCache: boolean }[];
  warnings: string[];
}

export interface LoadModelOptions {
  /** Precision of the generated graph. float16 on WebGPU needs the shader-f16 feature. Default float32. */
  dtype?: 'float32' | 'float16';
}

export interface KernelProfileRequest {
  unit: BatchUnit;
  batchSize: number;
  /** Profiled runs after one warm-up; the times are averaged over all of them. */
  runs: number;
}

export interface InitializeOptions {
  /**
   * Requests a device whose maxBufferSize is at most this many bytes, to see how a GPU with a smaller
   * limit behaves. WebGPU never grants less than its default (256 MiB), so lower values get the default.
   */
  maxBufferSizeBytes?: number;
}

/** Output of one forward pass, for comparing backends. */
export interface ForwardOutput {
  dims: number[];
  data: Float32Array;
}

export interface ProfilerApi {
  /** Acquires the backend (and for WebGPU the device) and returns what the result records about it. */
  initialize(backend: Backend, options?: InitializeOptions): Promise<EnvironmentReport>;
  /** Reads and validates the input in the worker, so that reading a large file does not block the page. */
  loadInput(request: InputRequest): Promise<InputSummary>;
  /** Loads DNABERT-S's tokenizer.json, so that DNA token counts are exact; the loaded DNA input is encoded again. */
  loadTokenizer(request: TokenizerRequest): Promise<TokenizerInfo>;
  /** Replaces the DNA input by the six-frame translations of its chunks, for the protein half of the pipeline. */
  translateInput(): Promise<InputSummary>;
  /**
   * Simulates a GPU with `budgetBytes` of buffer memory: allocations past it fail as out of memory, the
   * way WebGPU fails. Null removes the budget. WebGPU backend only.
   */
  setMemoryBudget(request: { budgetBytes: number; label: string } | null): Promise<void>;
  /** Returns the shape (sequences, padded length) of the batch each planned size would run, for predictions. */
  describeBatches(unit: BatchUnit, batchSizes: number[]): Promise<BatchShape[]>;
  /** Returns the shape of the worst batch of this size in the input: its longest sequences together. */
  describeWorstCase(unit: BatchUnit, batchSize: number): Promise<BatchShape>;
  /** Generates or fetches the model graph and creates its session. */
  loadModel(modelId: string, options?: LoadModelOptions): Promise<LoadedModel>;
  /** Loads an ONNX export and creates its session; progress reports bytes per file. */
  loadUserModel(request: UserModelRequest, onProgress?: (progress: ModelLoadProgress) => void): Promise<LoadedModel>;
  /** Bytes of exports kept in Cache Storage; null where there is none. */
  modelCacheBytes(): Promise<number | null>;
  clearModelCache(): Promise<void>;
  /** Embeds the first `count` input sequences in one batch and returns each one's masked mean over its tokens. */
  embedPooled(count: number): Promise<Float32Array[]>;
  /** Measures one batch size. Failures come back as a point with a failure status, not as an exception. */
  probe(request: ProbeRequest): Promise<PointResult>;
  /** Runs the loaded model once on the first `count` input sequences and returns the output. */
  forward(count: number): Promise<ForwardOutput>;
  /** Releases the session; the device stays for the next model. */
  releaseModel(): Promise<void>;
  /**
   * Destroys the GPU device, as a driver reset would. The next probe recovers on a new device. For tests
   * of device-loss recovery; does nothing on WASM.
   */
  loseDevice(): Promise<void>;
  /** Captures GPU time per operator type at one batch size (WebGPU with timestamp-query only). */
  profileKernels(request: KernelProfileRequest): Promise<KernelTimesReport>;
  /**
   * Allocates GPU buffers in steps until an allocation fails or `capBytes` is reached, then frees them
   * all. Opt-in only: it takes the GPU's memory from every other program while it runs.
   */
  estimateCapacity(options: { stepBytes: number; capBytes: number }): Promise<CapacityReport>;
  /** GPU bytes live now, for leak checks; null on WASM. */
  liveGpuBytes(): Promise<number | null>;
}
