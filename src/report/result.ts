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
}

export interface Recommendation {
  /** Largest batch size that ran, or null when none did. */
  maxBatchSize: number | null;
  recommendedBatchSize: number | null;
  reason: string;
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
