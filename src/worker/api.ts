/**
 * The typed boundary between the page and the profiler worker. The page imports these types only;
 * everything that touches onnxruntime-web stays in the worker.
 */
import type { Backend, BatchUnit, EnvironmentReport, InputReport, ModelReport, PointResult } from '../report/result';
import type { InputNotice } from '../sequences/fasta';
import type { SyntheticProteinOptions } from '../sequences/synthetic';
import type { MeasureSettings } from '../profiling/measure';

export type InputRequest =
  | { kind: 'synthetic'; options: SyntheticProteinOptions }
  | { kind: 'fasta'; file: Blob; fileName: string };

export interface InputSummary extends InputReport {
  /** Records that were read but left out, for example for characters outside the model's alphabet. */
  skippedCount: number;
  notices: InputNotice[];
}

export interface LoadedModel {
  report: ModelReport;
  /** Time to generate or fetch the graph, in ms. */
  buildMs: number;
  /** Time for `InferenceSession.create`, in ms. */
  sessionCreateMs: number;
  /** GPU bytes live after session creation (the weights, mostly); null on WASM. */
  weightBufferBytes: number | null;
  /** onnxruntime-web storage buffer cache mode of the session, which peak-memory figures depend on. */
  storageBufferCacheMode: string;
}

export interface ProbeRequest extends MeasureSettings {
  unit: BatchUnit;
  batchSize: number;
}

/** Output of one forward pass, for comparing backends. */
export interface ForwardOutput {
  dims: number[];
  data: Float32Array;
}

export interface ProfilerApi {
  /** Acquires the backend (and for WebGPU the device) and returns what the result records about it. */
  initialize(backend: Backend): Promise<EnvironmentReport>;
  /** Reads and validates the input in the worker, so that large files never block the page. */
  loadInput(request: InputRequest): Promise<InputSummary>;
  /** Generates or fetches the model graph and creates its session. */
  loadModel(modelId: string): Promise<LoadedModel>;
  /** Measures one batch size. Failures come back as a point with a failure status, not as an exception. */
  probe(request: ProbeRequest): Promise<PointResult>;
  /** Runs the loaded model once on the first `count` input sequences and returns the output. */
  forward(count: number): Promise<ForwardOutput>;
  /** Releases the session; the device stays for the next model. */
  releaseModel(): Promise<void>;
  /** GPU bytes live now, for leak checks; null on WASM. */
  liveGpuBytes(): Promise<number | null>;
}
