/**
 * The result contract: one document per profiling run. It is what the JSON download contains, what the
 * permalink carries and what the headless command writes. `schema.ts` validates it on export and import.
 */

export const SCHEMA_VERSION = 1;

export type Backend = 'webgpu' | 'wasm';
export type ModelSource = 'builtin' | 'manifest' | 'file' | 'url' | 'hub';
export type InputSource = 'synthetic' | 'fasta';
export type BatchUnit = 'sequences' | 'tokens';

/** Outcome of one probe (one batch size). Failures are rows too, never exceptions past the sweep. */
export type PointStatus = 'ok' | 'oom' | 'buffer-limit' | 'device-lost' | 'invalid-output' | 'error';

export interface AdapterReport {
  vendor: string;
  architecture: string;
  description: string;
  isFallbackAdapter: boolean;
}

export interface EnvironmentReport {
  userAgent: string;
  backend: Backend;
  /** Null on the WASM backend, or where the browser has no WebGPU adapter. */
  adapter: AdapterReport | null;
  /** Device limits requested at the adapter's maxima, by WebGPU limit name. Empty on WASM. */
  limits: Record<string, number>;
  features: string[];
  /** Threads the WASM backend used (1 without cross-origin isolation). */
  wasmThreads: number;
  /** FLOP/s that a WGSL fp32 matrix-multiply kernel reached on this device; absent when not measured. */
  matmulPeak?: MatmulPeakReport;
  /** GPU memory found by allocating buffers until a failure or a cap; absent unless the user ran it. */
  capacity?: CapacityReport;
}

export interface CapacityReport {
  /** Bytes that were allocated (and then freed) before the stop. */
  allocatedBytes: number;
  stoppedBy: 'out-of-memory' | 'cap' | 'device-lost' | 'aborted' | 'buffer-limit';
  stepBytes: number;
  capBytes: number;
  message: string;
}

export interface MatmulPeakReport {
  /** n of the n×n×n multiply. */
  size: number;
  medianMs: number;
  runs: number;
  flopsPerSecond: number;
  /** Timer of the kernel: GPU timestamps, or the wall clock around submit and completion. */
  timing: 'timestamp-query' | 'wall-clock';
}

export interface ModelReport {
  id: string;
  source: ModelSource;
  /** Encoder parameters, without the language-model or contact heads. */
  parameters: number;
  dtype: 'float32' | 'float16';
  layers: number;
  hidden: number;
  heads: number;
  /** "reference architecture, synthetic weights" for built-in graphs. */
  weights: string;
  /** For loaded exports: the URL, the hub id or the file name that the model came from. */
  sourceLabel?: string;
  /** For hub and manifest exports: the onnx/ variant, such as "model" or "model_fp16". */
  variant?: string;
  /** Address the export was downloaded from, which names the hub or mirror; absent for local files. */
  url?: string;
}

export interface LengthStats {
  min: number;
  median: number;
  max: number;
}

export interface InputReport {
  source: InputSource;
  /** File name for FASTA input, absent for synthetic input. Never the sequences or headers. */
  fileName?: string;
  sequenceCount: number;
  /** Residue counts after truncation, without special tokens. */
  lengthStats: LengthStats;
  /** Sequences longer than the model's maximum that were cut to it. */
  truncatedCount: number;
  /** Synthetic generator settings, so that the same input can be made again. */
  synthetic?: { seed: number; count: number; minLength: number; maxLength: number; gcContent?: number };
  /** Sequence kind; absent in documents from before DNA input existed, which were all protein. */
  alphabet?: 'protein' | 'dna';
  /** DNA preparation for DNABERT-S. Lengths in `lengthStats` are then chunk lengths in bp. */
  dna?: DnaInputReport;
  /** For proteins translated from DNA chunks: what the six-frame translation kept and dropped. */
  translation?: TranslationReport;
}

export interface DnaInputReport {
  /** Records read from the file or generated, before chunking. */
  recordCount: number;
  /** Chunk length in bp, or null when the sequences were used whole. */
  chunkLengthBp: number | null;
  /** Handling of the short piece at a sequence end ('overlap', 'keep', 'drop' or 'merge'). */
  lastChunkPolicy: string;
  /** Share of N among the bases given to the model, IUPAC ambiguity codes mapped to N included. */
  nFraction: number;
  /** "exact" with DNABERT-S's tokenizer.json, "estimated" (about 5 bp per token) without it. */
  tokenCounts: 'exact' | 'estimated';
  /** Source of the loaded tokenizer (file name, URL or hub id); absent for estimated counts. */
  tokenizerSource?: string;
}

export interface TranslationReport {
  /** DNA chunks that were translated. */
  chunkCount: number;
  /** Frames kept: no internal stop codon (a terminal stop is trimmed). */
  framesKept: number;
  /** Frames dropped, mostly for an internal stop codon, as VirNucPro drops them. */
  framesDropped: number;
}

/** A second sweep in the same report, such as ESM-2 on the translated frames of the DNA chunks. */
export interface CompanionSweep {
  /** Role of the companion sweep, e.g. "protein half: six-frame translations of the DNA chunks". */
  role: string;
  model: ModelReport;
  input: InputReport;
  sweep: SweepReport;
  points: PointResult[];
  recommendation: Recommendation;
  /** Further sweeps of the same run, for example ESM-2 on the translated frames of DNABERT-S input. */
  companions?: CompanionSweep[];
  /** For an fp16 variant of the main model: how far its pooled embeddings are from the fp32 model's. */
  drift?: PrecisionDrift;
}

export interface PrecisionDrift {
  /** Largest absolute difference between the pooled (masked mean) embeddings of the two precisions. */
  maxAbsDifference: number;
  /** Cosine similarity of the pooled embeddings, the lowest over the sequences compared. */
  cosineSimilarity: number;
  /** Sequences compared. */
  sequences: number;
}

/** Options of the onnxruntime-web sessions that the points were measured with. */
export interface SessionOptionsReport {
  graphOptimizationLevel: string;
  /** Location of session outputs: 'cpu' reads each output back, as an embedding pipeline does. */
  preferredOutputLocation: string;
  storageBufferCacheMode: string;
}

export interface SweepReport {
  unit: BatchUnit;
  min: number;
  max: number;
  step: number;
  warmupRuns: number;
  /** Fraction of the largest working batch that is recommended (0.8 keeps 20% headroom). */
  headroom: number;
  minRuns: number;
  /** Timed runs after which a point stops even under its time cap. */
  maxRuns?: number;
  /** Per-point time cap for the timed runs, after the warm-up. */
  maxTimePerPointMs: number;
  /** onnxruntime-web storage buffer cache mode that the peak-memory figures were measured under. */
  storageBufferCacheMode: string;
  /** True when the user stopped the sweep before it reached `max` or a failure. */
  cancelled: boolean;
  /** Search over batch sizes: every size in order (linear), or a bracketing search that probes fewer. */
  search?: { strategy: 'linear' | 'power-bisect' | 'auto'; probes: number; elapsedMs: number; predictedMaxBatchSize: number | null };
  /** Simulated GPU memory for buffers, in bytes, when the run enforced one; absent for the device's own memory. */
  gpuBudgetBytes?: number;
  /** Target relative standard error of the median that ended a point's timed runs early. */
  targetRelativeError?: number;
  sessionOptions?: SessionOptionsReport;
}

export interface PointResult {
  /** The swept value: a sequence count or a token budget, as `sweep.unit` names. */
  batchSize: number;
  /** Sequences in the batch that was run. */
  sequences: number;
  /** Real tokens in the batch, special tokens included, padding excluded. */
  tokens: number;
  /** batch rows × padded length: what the model really computes on. */
  paddedTokens: number;
  status: PointStatus;
  message?: string;
  medianMs: number | null;
  p10Ms: number | null;
  p90Ms: number | null;
  runs: number;
  sequencesPerSecond: number | null;
  tokensPerSecond: number | null;
  /** Peak bytes of live GPU buffers during the point, counted at allocation; null on WASM. */
  peakBytes: number | null;
  warmupMs: number | null;
  /**
   * True when the input could not fill this batch size: a token budget that takes every sequence, so
   * larger budgets would run the same batch. The sweep stops after such a point.
   */
  inputExhausted?: boolean;
  /** Sequences used more than once to fill a batch of this many sequences, because the input has fewer. */
  repeatedSequences?: number;
  /** Standard deviation of the timed runs divided by their mean. */
  coefficientOfVariation?: number | null;
  /** Relative standard error of the median (see `sweep.targetRelativeError`). */
  relativeStandardError?: number | null;
  /** Reason the timed runs ended: the target error, the time cap or the run limit. */
  timingStopReason?: 'target-error' | 'time-cap' | 'max-runs';
  /** True when the timed runs were repeated because their coefficient of variation was over 10%. */
  remeasured?: boolean;
  /** True when the coefficient of variation stayed over 10% after the repeat: treat the timing with care. */
  unstable?: boolean;
  /** Model FLOP/s over the real tokens, each sequence at its own length. */
  realFlopsPerSecond?: number | null;
  /** Model FLOP/s over the padded batch, which is what the device computes. */
  paddedFlopsPerSecond?: number | null;
  /** paddedFlopsPerSecond as a fraction of the device's matrix-multiply peak (`environment.matmulPeak`). */
  peakFlopsFraction?: number | null;
  /** Bytes of GPU buffers live before the runs: the weights, mostly. Null on WASM. */
  weightBytes?: number | null;
  /** Peak bytes during the runs minus `weightBytes`: activations and other run-time buffers. */
  runtimePeakBytes?: number | null;
  /** One sequence embedded alone against the same sequence inside the batch. */
  spotCheck?: SpotCheck;
  /** GPU time per operator type for this point, from onnxruntime-web's profiling; absent unless requested. */
  kernelTimes?: KernelTimesReport;
}

export interface SpotCheck {
  /** Row of the batch that was embedded alone. */
  row: number;
  maxAbsDifference: number;
  cosineSimilarity: number;
  /** Largest maxAbsDifference accepted. */
  tolerance: number;
  /** False when batching changed the pooled embedding by more than the tolerance. */
  agrees: boolean;
}

export interface KernelTimesReport {
  /** Profiled runs that the times are averaged over. */
  runs: number;
  /** GPU kernel time per run, in ms. */
  totalGpuMs: number;
  byOpType: { opType: string; totalMs: number; kernelCount: number; share: number }[];
}

export interface Recommendation {
  /** Largest batch size that ran, or null when none did. */
  maxBatchSize: number | null;
  recommendedBatchSize: number | null;
  reason: string;
  /** The recommended size with the longest sequences of the input together in one batch. */
  worstCase?: WorstCaseCheck;
  /** A run of the recommended batch in a fresh session, after the sweep; absent unless requested. */
  confirmation?: PointResult;
}

export interface WorstCaseCheck {
  sequences: number;
  paddedLength: number;
  paddedTokens: number;
  /** Peak bytes that the memory model fitted to the sweep predicts for this batch; null without GPU figures. */
  predictedPeakBytes: number | null;
  /** Largest tensor of this batch against maxBufferSize; null on WASM. */
  withinBufferLimit: boolean | null;
  /** The outcome of running this batch, when it was run (the confirmation run uses it). */
  status?: PointStatus;
  message: string;
}

export interface ProfileResult {
  schemaVersion: number;
  createdAt: string;
  app: { version: string; onnxruntimeWebVersion: string };
  environment: EnvironmentReport;
  model: ModelReport;
  input: InputReport;
  sweep: SweepReport;
  points: PointResult[];
  recommendation: Recommendation;
  /** Further sweeps of the same run, for example ESM-2 on the translated frames of DNABERT-S input. */
  companions?: CompanionSweep[];
}
