/**
 * The profiler engine: owns the onnxruntime-web session, the GPU device and the input sequences, and
 * measures one batch size at a time. The worker exposes it through comlink; unit tests drive it
 * directly in Node on the WASM backend, so onnxruntime-web is passed in rather than imported.
 */
import type * as OrtModule from 'onnxruntime-web';
import type { Backend, BatchUnit, CapacityReport, EnvironmentReport, KernelTimesReport, MatmulPeakReport, ModelReport, PointResult, SpotCheck } from '../report/result';
import type { ChunkSettings, ForwardOutput, InitializeOptions, InputRequest, KernelProfileRequest, LoadModelOptions, UserModelRequest, InputSummary, LoadedModel, ProbeRequest, ProfilerApi, TokenizerInfo, TokenizerRequest } from './api';
import { acquireDevice, type AcquiredDevice } from '../gpu/device';
import { GpuMemoryTracker } from '../gpu/accounting';
import { installMemoryBudget, type MemoryBudget } from '../gpu/budget';
import type { BatchShape } from '../gpu/limits';
import { classifyFailure, errorText } from '../gpu/classify';
import { getModelConfig, modelInputKind, type ModelConfig } from '../models/catalog';
import { buildModel, type BuiltModel } from '../models/build';
import { checkModelFits } from '../models/feasibility';
import { readFasta, type FastaRecord } from '../sequences/fasta';
import { ESM_ALPHABET, ESM_MAX_RESIDUES } from '../sequences/protein';
import { synthesizeProteins } from '../sequences/synthetic';
import { synthesizeDna } from '../sequences/syntheticDna';
import { buildDnaBatchTensors, buildEsmBatchTensors, selectSequenceBatch, selectTokenBudgetBatch, selectWorstCaseBatch, type Batch } from '../sequences/batching';
import { createEstimatedDnaTokenizer, fetchDnaTokenizer, loadDnaTokenizer, type DnaTokenizer } from '../sequences/dnaTokenizer';
import {
  foldIntoVocabulary,
  prepareDnaInput,
  prepareProteinInput,
  translateDnaInput,
  type InputOrigin,
  type PreparedInput,
} from '../sequences/inputPipeline';
import { measurePoint } from '../profiling/measure';
import { unmeasuredPoint } from '../profiling/sweep';
import { batchFlops, findConstantOutput, findInvalidValue, meanPoolRow } from '../profiling/outputChecks';
import { compareEmbeddings } from '../profiling/drift';
import { forwardFlopsPerToken, type WeightDtype } from '../models/counts';
import { float16ToFloat32Array } from '../models/float16';
import { bufferLimitsOf, checkBatchAgainstLimits } from '../gpu/limits';
import { checkBatchShapeAllowed, identifyArchitecture, mapModelInputs, type InputMapping } from '../models/inspectOnnx';
import { createCacheStorageModelCache, fetchModelFiles, type ModelCache, type ModelLoadProgress } from '../models/modelSources';
import { checkExportFits, configFromArchitecture, describeUnsupportedOperator, exportDtype, userModelReport } from '../models/userModel';
import { measureMatmulPeak } from '../gpu/matmulBench';
import { estimateGpuCapacity } from '../gpu/capacity';
import { captureConsoleDuring, countModelRuns, extractTraceEvents, summarizeKernelTimes } from '../profiling/kernelTimes';
import { InputMismatchError, KernelProfileError, ModelLoadError, WebGpuRequiredError, NoInputError, NoModelError, NotInitializedError } from './errors';

type Ort = typeof OrtModule;
type Session = OrtModule.InferenceSession;

/**
 * Storage buffer cache mode for WebGPU sessions. `lazyRelease` frees each run's buffers at its end, so a
 * point's peak is its own and not the leftovers of earlier, larger batches (`bucket`, ORT's default,
 * keeps freed buffers live until the session is released).
 */
export const STORAGE_BUFFER_CACHE_MODE = 'lazyRelease';

/**
 * ORT's default and fastest level: it fuses GELU, BiasGELU and SkipLayerNorm. Outputs stay on the CPU
 * side ('cpu', the default preferredOutputLocation), because an embedding pipeline reads every output.
 */
const GRAPH_OPTIMIZATION_LEVEL = 'all';

const WEIGHTS_LABEL = 'reference architecture, synthetic weights';


/**
 * Largest difference accepted between a pooled embedding computed alone and inside a batch. fp32 sums in
 * another order differ by far less (under 1e-4 in the WASM unit tests), so the bound leaves room for GPU
 * kernels that tile by shape.
 */
const SPOT_CHECK_TOLERANCE_FP32 = 1e-3;
/** fp16 keeps about 3 decimal digits, so its bound is wider. */
const SPOT_CHECK_TOLERANCE_FP16 = 2e-2;

/** Longest DNA token sequence embedded, [CLS] and [SEP] included: the profiler's cut-off, since ALiBi sets none. */
const DNA_MAX_TOKENS = 512;

/** DNA records as read, kept so that a newly loaded tokenizer can encode them again. */
interface DnaSource {
  records: FastaRecord[];
  origin: InputOrigin;
  chunking: ChunkSettings;
}

export interface EngineOptions {
  /** Seed of the generated weights. Weight values do not change speed or memory. */
  weightSeed?: number;
  /** Graph generator for a catalog model, so that tests can run their own graphs. Default `buildModel`. */
  buildModel?: (config: ModelConfig, options: { seed: number; dtype?: WeightDtype }) => BuiltModel;
}

export { findInvalidValue } from '../profiling/outputChecks';

/** The loaded model: a generated graph, or an export with its input mapping. */
interface ActiveModel {
  /** Shapes for limit predictions and FLOP counts; for an export, from config.json, the graph or the user. */
  config: ModelConfig;
  built: BuiltModel;
  /** Input and output names and types of an export; null for generated graphs, which use the standard ones. */
  mapping: InputMapping | null;
  /** Whether a simulated budget was installed when the session was created, since its weights count against it. */
  budgetInstalled: boolean;
}

export class ProfilerEngine implements ProfilerApi {
  private backend: Backend | null = null;
  private gpu: AcquiredDevice | null = null;
  private tracker: GpuMemoryTracker | null = null;
  private deviceLost = false;
  private budget: MemoryBudget | null = null;
  private budgetRequest: { budgetBytes: number; label: string } | null = null;
  private lastOutOfMemoryMessage: string | undefined;
  private matmulPeak: MatmulPeakReport | null = null;
  private deviceOptions: { maxBufferSizeBytes?: number } = {};
  /** GPU bytes live right after the session was created: the weights and ORT's own constant buffers. */
  private sessionLiveBytes = 0;
  private input: PreparedInput | null = null;
  private dnaSource: DnaSource | null = null;
  private dnaTokenizer: DnaTokenizer = createEstimatedDnaTokenizer();
  private tokenizerSource: string | null = null;
  private model: ActiveModel | null = null;
  private session: Session | null = null;
  /**
   * Session creation and runs go through one queue, because onnxruntime-web 1.30 throws when two
   * sessions are created at once, and overlapping runs would distort each other's timings.
   */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ort: Ort,
    private readonly options: EngineOptions = {},
  ) {}

  initialize(backend: Backend, options: InitializeOptions = {}): Promise<EnvironmentReport> {
    return this.enqueue(async () => {
      this.backend = backend;
      this.deviceOptions = { maxBufferSizeBytes: options.maxBufferSizeBytes };
      // A session of an earlier backend must not survive a switch, nor a device that a WASM run would report.
      await this.releaseSession();
      this.budget?.uninstall();
      this.budget = null;
      this.gpu = null;
      this.tracker = null;
      this.matmulPeak = null;
      const environment: EnvironmentReport = {
        userAgent: globalThis.navigator?.userAgent ?? 'unknown',
        backend,
        adapter: null,
        limits: {},
        features: [],
        wasmThreads: this.ort.env.wasm.numThreads ?? 1,
      };
      if (backend === 'webgpu') {
        const gpu = await this.acquireGpu();
        environment.adapter = gpu.adapterReport;
        environment.limits = gpu.limits;
        environment.features = gpu.features;
        this.matmulPeak = await this.measureDevicePeak(gpu);
        if (this.matmulPeak) environment.matmulPeak = this.matmulPeak;
      }
      return environment;
    });
  }

  loadInput(request: InputRequest): Promise<InputSummary> {
    return this.enqueue(async () => {
      const config = this.model?.config;
      const maxResidues = config?.family === 'esm2' ? config.maxResidues : ESM_MAX_RESIDUES;
      let records: FastaRecord[];
      const origin: InputOrigin = { source: request.kind === 'fasta' ? 'fasta' : 'synthetic', notices: [] };
      if (request.kind === 'synthetic') {
        records = synthesizeProteins(request.options);
        origin.synthetic = { ...request.options };
      } else if (request.kind === 'synthetic-dna') {
        records = synthesizeDna(request.options);
        origin.synthetic = { ...request.options };
      } else {
        const fasta = await readFasta(request.file.stream(), { fileName: request.fileName });
        records = fasta.records;
        origin.fileName = request.fileName;
        origin.notices = fasta.notices;
      }

      const isDna = request.kind === 'synthetic-dna' || (request.kind === 'fasta' && request.alphabet === 'dna');
      if (isDna) {
        const chunking = request.kind === 'fasta' || request.kind === 'synthetic-dna' ? (request.chunking ?? { chunkLengthBp: 500 }) : { chunkLengthBp: 500 };
        this.dnaSource = { records, origin, chunking };
        this.input = this.encodeDna(this.dnaSource);
      } else {
        this.dnaSource = null;
        this.input = prepareProteinInput(records, origin, maxResidues);
      }
      return this.input.summary;
    });
  }

  setMemoryBudget(request: { budgetBytes: number; label: string } | null): Promise<void> {
    return this.enqueue(async () => {
      // A new budget must see the weights allocated, and reject them if they no longer fit, so the session goes.
      if (request?.budgetBytes !== this.budgetRequest?.budgetBytes) await this.releaseSession();
      this.budgetRequest = request;
      this.budget?.uninstall();
      this.budget = null;
      if (request && this.gpu && this.tracker) this.budget = installMemoryBudget(this.gpu.device, request.budgetBytes, this.tracker, { label: request.label });
    });
  }

  describeBatches(unit: BatchUnit, batchSizes: number[]): Promise<BatchShape[]> {
    return this.enqueue(async () => {
      const input = this.requireInput();
      return batchSizes.map((batchSize) => {
        const batch = unit === 'tokens' ? selectTokenBudgetBatch(input.lengthsTokens, batchSize) : selectSequenceBatch(input.lengthsTokens, batchSize);
        return { batchSize, sequences: batch.sequences, paddedLength: batch.paddedLength };
      });
    });
  }

  describeWorstCase(unit: BatchUnit, batchSize: number): Promise<BatchShape> {
    return this.enqueue(async () => {
      const batch = selectWorstCaseBatch(this.requireInput().lengthsTokens, unit, batchSize);
      return { batchSize, sequences: batch.sequences, paddedLength: batch.paddedLength };
    });
  }

  loadTokenizer(request: TokenizerRequest): Promise<TokenizerInfo> {
    return this.enqueue(async () => {
      let source: string;
      if (request.kind === 'file') {
        source = request.fileName;
        this.dnaTokenizer = await loadDnaTokenizer(await request.file.text(), { sourceName: request.fileName });
      } else if (request.kind === 'url') {
        source = request.url;
        this.dnaTokenizer = await fetchDnaTokenizer({ url: request.url });
      } else {
        source = `hub:${request.hubId}`;
        this.dnaTokenizer = await fetchDnaTokenizer({ hubId: request.hubId, hubBaseUrl: request.hubBaseUrl });
      }
      this.tokenizerSource = source;
      if (this.dnaSource) this.input = this.encodeDna(this.dnaSource);
      return { tokenCounts: this.dnaTokenizer.tokenCounts, source };
    });
  }

  translateInput(): Promise<InputSummary> {
    return this.enqueue(async () => {
      const input = this.requireInput();
      const config = this.model?.config;
      const maxResidues = config?.family === 'esm2' ? config.maxResidues : ESM_MAX_RESIDUES;
      this.input = translateDnaInput(input, maxResidues);
      this.dnaSource = null;
      return this.input.summary;
    });
  }

  private encodeDna(source: DnaSource): PreparedInput {
    return prepareDnaInput(source.records, source.origin, {
      chunkLengthBp: source.chunking.chunkLengthBp,
      lastChunk: source.chunking.lastChunk,
      tokenizer: this.dnaTokenizer,
      tokenizerSource: this.tokenizerSource ?? undefined,
      maxTokens: DNA_MAX_TOKENS,
    });
  }

  loadModel(modelId: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
    return this.enqueue(async () => {
      const backend = this.requireBackend();
      const config = getModelConfig(modelId);
      const dtype = options.dtype ?? 'float32';
      const fit = checkModelFits(config, { backend, limits: this.gpu ? bufferLimitsOf(this.gpu.limits) : undefined });
      if (!fit.ok) throw new ModelLoadError(fit.reason, { modelId });
      if (dtype === 'float16' && backend === 'webgpu' && this.gpu && !this.gpu.features.includes('shader-f16')) {
        throw new ModelLoadError(
          `The fp16 variant of ${config.id} needs the WebGPU feature shader-f16, which this GPU (${this.gpu.adapterReport.vendor} ${this.gpu.adapterReport.architecture}) does not offer. Profile fp32 only, or use a GPU and browser with shader-f16.`,
          { modelId },
        );
      }

      // The same generated model on the same device keeps its session: a new session places buffers anew,
      // which shifted whole sweeps by several percent on SwiftShader, and large graphs take minutes to build.
      const current = this.model;
      if (current && this.session && current.mapping === null && current.config.id === config.id && (current.built.dtype ?? 'float32') === dtype && current.budgetInstalled === (this.budget !== null)) {
        return this.loadedModelParts(backend, this.builtinReport(config, current.built), config, 0, 0, this.sessionLiveBytes);
      }

      await this.releaseSession();
      const buildStartMs = performance.now();
      const build = this.options.buildModel ?? buildModel;
      const built = build(config, { seed: this.options.weightSeed ?? 1, dtype });
      const buildMs = performance.now() - buildStartMs;
      this.model = { config, built, mapping: null, budgetInstalled: this.budget !== null };

      const sessionStartMs = performance.now();
      this.budget?.takeRejection();
      await this.createSession();
      const sessionCreateMs = performance.now() - sessionStartMs;
      const weightRejection = this.budget?.takeRejection() ?? null;
      if (weightRejection !== null) {
        await this.releaseSession();
        throw new ModelLoadError(`The weights of ${config.id} do not fit the simulated GPU budget. ${weightRejection}`, { modelId: config.id });
      }
      return this.loadedModelParts(backend, this.builtinReport(config, built), config, buildMs, sessionCreateMs, this.sessionLiveBytes);
    });
  }

  /**
   * Loads an ONNX export from a file, a URL, a hub id or the app's manifest.
   * 1. Fetch the files (from Cache Storage when cached), reporting progress.
   * 2. Map its inputs and output, identify the architecture, and check it against the backend.
   * 3. Create the session, naming the operator when onnxruntime-web has no kernel for it.
   */
  loadUserModel(request: UserModelRequest, onProgress?: (progress: ModelLoadProgress) => void): Promise<LoadedModel> {
    return this.enqueue(async () => {
      const backend = this.requireBackend();

      // 1. Files.
      const fetchStartMs = performance.now();
      const fetched = await fetchModelFiles(request.source, {
        cache: request.useCache === false ? null : this.openModelCache(),
        onProgress,
        maxBytes: request.maxBytes,
      });
      const buildMs = performance.now() - fetchStartMs;

      // 2. Inputs, architecture and fit.
      const mapping = mapModelInputs(fetched.inspection);
      const architecture = identifyArchitecture(fetched.config, fetched.inspection);
      const config = configFromArchitecture(fetched.modelId, architecture, request.architecture ?? null);
      const dtype = exportDtype(fetched.inspection);
      if (dtype === 'float16' && backend === 'webgpu' && this.gpu && !this.gpu.features.includes('shader-f16')) {
        throw new ModelLoadError(
          `${fetched.sourceLabel} is an fp16 export, which needs the WebGPU feature shader-f16; this GPU (${this.gpu.adapterReport.vendor} ${this.gpu.adapterReport.architecture}) does not offer it. Load the fp32 variant ("model"), or use the WASM backend.`,
          { modelId: fetched.modelId },
        );
      }
      const totalBytes = fetched.modelBytes.byteLength + fetched.externalData.reduce((total, file) => total + file.data.byteLength, 0);
      const unfit = checkExportFits(totalBytes, config, dtype, backend === 'webgpu' && this.gpu ? bufferLimitsOf(this.gpu.limits) : null);
      if (unfit) throw new ModelLoadError(`${fetched.sourceLabel}: ${unfit}`, { modelId: fetched.modelId });

      // 3. Session.
      await this.releaseSession();
      const built: BuiltModel = {
        modelBytes: fetched.modelBytes,
        externalData: fetched.externalData,
        parameterCount: fetched.inspection.parameterCount,
        weightBytes: fetched.inspection.initializerBytes,
        dtype,
      };
      this.model = { config, built, mapping, budgetInstalled: this.budget !== null };
      const sessionStartMs = performance.now();
      this.budget?.takeRejection();
      try {
        await this.createSession();
      } catch (error) {
        this.model = null;
        const unsupported = describeUnsupportedOperator(errorText(error), backend);
        throw new ModelLoadError(unsupported ? `${fetched.sourceLabel}: ${unsupported}` : errorText(error), { modelId: fetched.modelId });
      }
      const sessionCreateMs = performance.now() - sessionStartMs;
      const weightRejection = this.budget?.takeRejection() ?? null;
      if (weightRejection !== null) {
        await this.releaseSession();
        this.model = null;
        throw new ModelLoadError(`The weights of ${fetched.sourceLabel} do not fit the simulated GPU budget. ${weightRejection}`, { modelId: fetched.modelId });
      }

      const report = userModelReport({ modelId: fetched.modelId, source: fetched.source, config, inspection: fetched.inspection, sourceLabel: fetched.sourceLabel, variant: fetched.variant, url: fetched.modelUrl });
      return {
        ...this.loadedModelParts(backend, report, config, buildMs, sessionCreateMs, this.sessionLiveBytes),
        userModel: {
          family: config.family,
          architectureSource: request.architecture ? 'user' : architecture.source,
          architectureNotes: architecture.notes,
          inputs: fetched.inspection.inputs.map((info) => ({ name: info.name, elemType: info.elemType, dims: info.dims })),
          outputName: mapping.output.name,
          fixedBatchSize: mapping.fixedBatchSize,
          fixedSequenceLength: mapping.fixedSequenceLength,
          opsetVersion: fetched.inspection.opsetVersion,
          totalBytes,
          files: fetched.files.map((file) => ({ file: file.file, bytes: file.bytes, fromCache: file.fromCache })),
          warnings: fetched.warnings,
        },
      };
    });
  }

  /** Returns the bytes of exports kept in Cache Storage, or null where the worker has no Cache Storage. */
  async modelCacheBytes(): Promise<number | null> {
    const cache = this.openModelCache();
    return cache ? cache.sizeBytes() : null;
  }

  async clearModelCache(): Promise<void> {
    await this.openModelCache()?.clear();
  }

  private openModelCache(): ModelCache | null {
    if (typeof caches === 'undefined') return null;
    try {
      return createCacheStorageModelCache();
    } catch (error) {
      console.warn(`Cache Storage is not available, so exports are downloaded every time: ${errorText(error)}`);
      return null;
    }
  }

  private builtinReport(config: ModelConfig, built: BuiltModel): ModelReport {
    return {
      id: config.id,
      source: 'builtin',
      parameters: built.parameterCount,
      dtype: built.dtype ?? 'float32',
      layers: config.layers,
      hidden: config.hidden,
      heads: config.heads,
      weights: WEIGHTS_LABEL,
    };
  }

  private loadedModelParts(backend: Backend, report: ModelReport, config: ModelConfig, buildMs: number, sessionCreateMs: number, weightBytes: number): LoadedModel {
    const cacheMode = backend === 'webgpu' ? STORAGE_BUFFER_CACHE_MODE : 'not applicable (wasm)';
    return {
      report,
      config,
      buildMs,
      sessionCreateMs,
      weightBufferBytes: this.tracker ? weightBytes : null,
      storageBufferCacheMode: cacheMode,
      sessionOptions: { graphOptimizationLevel: GRAPH_OPTIMIZATION_LEVEL, preferredOutputLocation: 'cpu', storageBufferCacheMode: cacheMode },
    };
  }

  probe(request: ProbeRequest): Promise<PointResult> {
    return this.enqueue(() => this.probeNow(request));
  }

  embedPooled(count: number): Promise<Float32Array[]> {
    return this.enqueue(async () => {
      const input = this.requireInput();
      if (this.model) this.requireMatchingInput(this.model.config, input);
      const batch = selectSequenceBatch(input.lengthsTokens, Math.min(count, input.lengthsTokens.length));
      const session = await this.ensureSession();
      const output = await this.runSession(session, this.makeFeeds(batch));
      return batch.indices.map((index, row) => meanPoolRow(output.data, output.dims, row, input.lengthsTokens[index]));
    });
  }

  forward(count: number): Promise<ForwardOutput> {
    return this.enqueue(async () => {
      const input = this.requireInput();
      if (this.model) this.requireMatchingInput(this.model.config, input);
      const batch = selectSequenceBatch(input.lengthsTokens, count);
      const session = await this.ensureSession();
      const output = await this.runSession(session, this.makeFeeds(batch));
      return { dims: output.dims, data: output.data };
    });
  }

  releaseModel(): Promise<void> {
    return this.enqueue(async () => {
      await this.releaseSession();
      this.model = null;
    });
  }

  async loseDevice(): Promise<void> {
    // Not queued: a real device loss arrives in the middle of whatever is running.
    const device = this.gpu?.device;
    if (!device) return;
    device.destroy();
    // The lost handler, registered when the device was acquired, has run once this resolves.
    await device.lost;
  }

  /**
   * Captures GPU time per operator type at one batch size, from onnxruntime-web's profiling: a separate
   * session with `enableProfiling` runs the batch `runs` times after one warm-up, and `endProfiling`
   * writes the trace through console.log, where the worker's tap collects it. Needs `timestamp-query`.
   */
  profileKernels(request: KernelProfileRequest): Promise<KernelTimesReport> {
    return this.enqueue(async () => {
      const gpu = this.gpu;
      if (this.backend !== 'webgpu' || !gpu) throw new WebGpuRequiredError('Kernel times need the WebGPU backend. Pick WebGPU and run again.');
      if (!gpu.features.includes('timestamp-query')) {
        throw new KernelProfileError('This GPU does not offer the timestamp-query feature, so WebGPU cannot time kernels. The rest of the profile is unaffected.');
      }
      const model = this.model;
      if (!model) throw new NoModelError('No model is loaded. Load a model before profiling kernels.');
      if (!Number.isInteger(request.runs) || request.runs < 1 || request.runs > 100) {
        throw new RangeError(`Invalid runs ${request.runs} for kernel profiling: expected an integer from 1 to 100.`);
      }
      const batch = this.selectBatch(request.unit, request.batchSize);
      const feeds = this.makeFeeds(batch);

      // The profiling session replaces the measuring one while it runs, so that two never hold weights at once.
      await this.releaseSession();
      const session = await this.ort.InferenceSession.create(model.built.modelBytes, {
        ...this.sessionOptionsFor('webgpu'),
        enableProfiling: true,
      });
      try {
        for (let run = 0; run < request.runs + 1; run += 1) await this.runSession(session, feeds);
        const { lines } = await captureConsoleDuring(() => session.endProfiling());
        const events = extractTraceEvents(lines);
        const runs = countModelRuns(events) || request.runs + 1;
        const summary = summarizeKernelTimes(events, runs);
        return { runs: summary.runs, totalGpuMs: summary.totalGpuMs, byOpType: summary.byOpType };
      } finally {
        await session.release().catch(() => undefined);
      }
    });
  }

  estimateCapacity(options: { stepBytes: number; capBytes: number }): Promise<CapacityReport> {
    return this.enqueue(async () => {
      if (this.backend !== 'webgpu') throw new WebGpuRequiredError('The capacity estimate needs the WebGPU backend. Pick WebGPU and try again.');
      // The session's buffers would count against the estimate, and a lost device takes the session with it.
      await this.releaseSession();
      if (!this.gpu || this.deviceLost) await this.acquireGpu();
      const estimate = await estimateGpuCapacity((this.gpu as AcquiredDevice).device, options);
      if (estimate.stoppedBy === 'device-lost' || estimate.stoppedBy === 'out-of-memory') await this.dropAfterFailure(estimate.stoppedBy === 'device-lost' ? 'device-lost' : 'oom');
      return { allocatedBytes: estimate.allocatedBytes, stoppedBy: estimate.stoppedBy, stepBytes: estimate.stepBytes, capBytes: options.capBytes, message: estimate.message };
    });
  }

  liveGpuBytes(): Promise<number | null> {
    return Promise.resolve(this.tracker ? this.tracker.liveBytes : null);
  }

  /**
   * Measures one batch size.
   * 1. Build the batch from the input and its tensors.
   * 2. Before running, compare its largest tensor with maxBufferSize: a batch over it is reported as
   *    `buffer-limit` without running.
   * 3. Warm up and time the runs, checking every output, then embed one sequence alone as a spot check.
   * 4. On failure, classify it and drop the session, because some sessions fail on every later run
   *    after a failed allocation (seen with onnxruntime-web 1.30).
   */
  private async probeNow(request: ProbeRequest): Promise<PointResult> {
    const input = this.requireInput();
    if (!this.model) throw new NoModelError('No model is loaded. Load a model before running a batch.');
    const config = this.model.config;
    this.requireMatchingInput(config, input);

    // 1. Batch and tensors. An export that fixes its sequence length gets every batch padded to it.
    const selected = request.batchShape === 'worst-case' ? selectWorstCaseBatch(input.lengthsTokens, request.unit, request.batchSize) : this.selectBatch(request.unit, request.batchSize);
    const batch = padToFixedLength(selected, this.model.mapping);
    // A fresh session measures the batch the way a new process would meet it, without earlier runs' state.
    if (request.freshSession) await this.releaseSession();
    const point = unmeasuredPoint(request.batchSize, 'ok', batch);
    if (request.unit === 'tokens' && batch.paddedTokens > request.batchSize) {
      point.message = `The budget is below the longest sequence (${batch.paddedLength} tokens with its special tokens), so that sequence runs alone, over the budget, as fair-esm batches it.`;
    }
    if (request.unit === 'tokens' && batch.sequences === input.encoded.length) point.inputExhausted = true;
    if ('repeatedSequences' in batch && typeof batch.repeatedSequences === 'number' && batch.repeatedSequences > 0) {
      point.repeatedSequences = batch.repeatedSequences;
      point.message = `The input has only ${input.encoded.length} sequences, so ${batch.repeatedSequences} of the ${batch.sequences} in this batch are repeats.`;
    }

    // 2. Fixed export shapes, and buffer limits, predicted.
    const mapping = this.model.mapping;
    if (mapping) {
      const shape = checkBatchShapeAllowed(mapping, batch.sequences, batch.paddedLength);
      if (!shape.ok) {
        point.status = 'error';
        point.message = `Not run: ${shape.reason}`;
        return point;
      }
    }
    if (request.checkLimits !== false && this.gpu) {
      const check = checkBatchAgainstLimits(config, batch.sequences, batch.paddedLength, bufferLimitsOf(this.gpu.limits), { dtype: this.model.built.dtype ?? 'float32' });
      if (!check.ok) {
        point.status = 'buffer-limit';
        point.message = `Not run, because it cannot fit: ${check.message}`;
        return point;
      }
    }

    // 3. Warm-up, timed runs and output checks.
    try {
      const session = await this.ensureSession();
      const feeds = this.makeFeeds(batch);
      // Clears a rejection left from session creation, so that only this point's allocations count.
      this.budget?.takeRejection();
      this.tracker?.resetPeak();
      const weightBytes = this.tracker ? this.sessionLiveBytes : null;
      let invalidMessage: string | null = null;
      let lastOutput: ForwardOutput | null = null;
      const measured = await measurePoint(async () => {
        const output = await this.runSession(session, feeds);
        invalidMessage ??= findInvalidValue(output.data) ?? findConstantOutput(output.data);
        lastOutput = output;
      }, request);
      point.peakBytes = this.tracker ? this.tracker.peakBytes : null;
      point.weightBytes = weightBytes;
      point.runtimePeakBytes = point.peakBytes !== null && weightBytes !== null ? Math.max(0, point.peakBytes - weightBytes) : null;
      const lateRejection = this.budget?.takeRejection() ?? null;
      if (lateRejection !== null) {
        point.status = 'oom';
        point.message = `GPU out of memory: ${lateRejection}`;
        await this.dropAfterFailure('oom');
        return point;
      }
      const timing = measured.timing;
      if (timing.medianMs <= 0) {
        point.status = 'error';
        point.message = 'The runs took less than the timer resolution, so no throughput can be computed. Use a larger batch size.';
        return point;
      }
      point.warmupMs = measured.warmupMs;
      point.medianMs = timing.medianMs;
      point.p10Ms = timing.p10Ms;
      point.p90Ms = timing.p90Ms;
      point.runs = timing.runs;
      point.coefficientOfVariation = timing.coefficientOfVariation;
      point.relativeStandardError = timing.relativeStandardError;
      point.timingStopReason = measured.stopReason;
      if (measured.remeasured) point.remeasured = true;
      if (measured.unstable) {
        point.unstable = true;
        point.message = joinMessages(
          point.message,
          `The run times stayed noisy after a second round (coefficient of variation ${(timing.coefficientOfVariation * 100).toFixed(1)}%), so treat this throughput with care.`,
        );
      }
      point.sequencesPerSecond = (batch.sequences * 1000) / timing.medianMs;
      point.tokensPerSecond = (batch.tokens * 1000) / timing.medianMs;
      const flops = batchFlops(batch.indices.map((index) => input.lengthsTokens[index]), batch.paddedLength, (length) => forwardFlopsPerToken(config, length));
      point.realFlopsPerSecond = (flops.realFlops * 1000) / timing.medianMs;
      point.paddedFlopsPerSecond = (flops.paddedFlops * 1000) / timing.medianMs;
      point.peakFlopsFraction = this.matmulPeak ? point.paddedFlopsPerSecond / this.matmulPeak.flopsPerSecond : null;

      if (invalidMessage !== null) {
        point.status = 'invalid-output';
        point.message = joinMessages(point.message, invalidMessage);
        return point;
      }
      // An export with a fixed batch size other than 1 cannot embed one sequence alone.
      const fixedBatchSize = this.model.mapping?.fixedBatchSize ?? null;
      if (lastOutput !== null && request.spotCheck !== false && (fixedBatchSize === null || fixedBatchSize === 1)) {
        point.spotCheck = await this.spotCheck(session, batch, lastOutput);
        if (!point.spotCheck.agrees) {
          point.message = joinMessages(
            point.message,
            `Batching changes results: row ${point.spotCheck.row} embedded alone differs from the same sequence in this batch by up to ${point.spotCheck.maxAbsDifference.toExponential(2)} (tolerance ${point.spotCheck.tolerance}, cosine similarity ${point.spotCheck.cosineSimilarity.toFixed(6)}).`,
          );
        }
      }
      return point;
    } catch (error) {
      // 4. Failure.
      point.peakBytes = this.tracker ? this.tracker.peakBytes : null;
      const failure = classifyFailure(error, {
        deviceLost: this.deviceLost,
        outOfMemoryMessage: this.lastOutOfMemoryMessage ?? this.budget?.takeRejection() ?? undefined,
      });
      point.status = failure.status;
      point.message = joinMessages(point.message, failure.message);
      await this.dropAfterFailure(failure.status);
      return point;
    }
  }

  private selectBatch(unit: BatchUnit, batchSize: number): Batch {
    const input = this.requireInput();
    return unit === 'tokens' ? selectTokenBudgetBatch(input.lengthsTokens, batchSize) : selectSequenceBatch(input.lengthsTokens, batchSize);
  }

  /**
   * Embeds row 0 of the batch alone and compares its pooled embedding with the same row of the batch
   * output. Padding is masked, so the two agree up to float rounding unless batching changes results.
   */
  private async spotCheck(session: Session, batch: Batch, batchOutput: ForwardOutput): Promise<SpotCheck> {
    const input = this.requireInput();
    const row = 0;
    const index = batch.indices[row];
    const length = input.lengthsTokens[index];
    const alone = padToFixedLength({ indices: [index], sequences: 1, tokens: length, paddedLength: length, paddedTokens: length }, this.model?.mapping ?? null);
    const aloneOutput = await this.runSession(session, this.makeFeeds(alone));
    const inBatch = meanPoolRow(batchOutput.data, batchOutput.dims, row, length);
    const single = meanPoolRow(aloneOutput.data, aloneOutput.dims, 0, length);
    const { maxAbsDifference, cosineSimilarity } = compareEmbeddings(single, inBatch);
    const tolerance = this.model?.built.dtype === 'float16' ? SPOT_CHECK_TOLERANCE_FP16 : SPOT_CHECK_TOLERANCE_FP32;
    return { row, maxAbsDifference, cosineSimilarity, tolerance, agrees: maxAbsDifference <= tolerance };
  }

  /**
   * Releases the session after a failed probe. After an out-of-memory error or a device loss the device
   * goes too, because a device that ran out of memory may keep failing. The next probe creates both.
   */
  private async dropAfterFailure(status: PointResult['status']): Promise<void> {
    await this.releaseSession();
    if (this.backend === 'webgpu' && (status === 'oom' || status === 'device-lost') && this.gpu && !this.deviceLost) {
      const device = this.gpu.device;
      this.deviceLost = true;
      this.tracker?.forgetAll();
      device.destroy();
    }
  }

  private makeFeeds(batch: Batch): Record<string, OrtModule.Tensor> {
    const input = this.requireInput();
    const config = this.model?.config;
    const tensors =
      input.alphabet === 'dna' ? buildDnaBatchTensors(input.encoded, batch, this.dnaTokenizer.padId) : buildEsmBatchTensors(input.encoded, batch);
    // A smaller vocabulary than the tokenizer's (a test-size model, or an export with its own) gets ids folded into it.
    const tokenizerVocabSize = input.alphabet === 'dna' ? this.dnaTokenizer.vocabSize : ESM_ALPHABET.length;
    if (config && config.vocabSize < tokenizerVocabSize) foldIntoVocabulary(tensors.inputIds, config.vocabSize);
    const mapping = this.model?.mapping;
    if (!mapping) {
      return {
        input_ids: new this.ort.Tensor('int64', tensors.inputIds, tensors.dims),
        attention_mask: new this.ort.Tensor('int64', tensors.attentionMask, tensors.dims),
      };
    }
    const feeds: Record<string, OrtModule.Tensor> = {};
    const toTensor = (elemType: 'int64' | 'int32', values: BigInt64Array) =>
      elemType === 'int64' ? new this.ort.Tensor('int64', values, tensors.dims) : new this.ort.Tensor('int32', Int32Array.from(values, Number), tensors.dims);
    feeds[mapping.inputIds.name] = toTensor(mapping.inputIds.elemType, tensors.inputIds);
    if (mapping.attentionMask) feeds[mapping.attentionMask.name] = toTensor(mapping.attentionMask.elemType, tensors.attentionMask);
    if (mapping.tokenTypeIds) feeds[mapping.tokenTypeIds.name] = toTensor(mapping.tokenTypeIds.elemType, new BigInt64Array(tensors.inputIds.length));
    return feeds;
  }

  private requireMatchingInput(config: ModelConfig, input: PreparedInput): void {
    const expected = modelInputKind(config);
    if (expected === input.alphabet) return;
    throw new InputMismatchError(
      `${config.id} embeds ${expected === 'dna' ? 'DNA' : 'proteins'}, but the loaded input is ${input.alphabet === 'dna' ? 'DNA' : 'protein'}. ` +
        `Load ${expected === 'dna' ? 'a DNA FASTA file or synthetic DNA' : 'a protein FASTA file or synthetic proteins'}, or pick a ${input.alphabet === 'dna' ? 'DNA' : 'protein'} model.`,
    );
  }

  /** Runs once inside an out-of-memory error scope, which catches what ORT's own validation scope lets through. */
  private async runSession(session: Session, feeds: Record<string, OrtModule.Tensor>): Promise<ForwardOutput> {
    const device = this.gpu?.device;
    this.lastOutOfMemoryMessage = undefined;
    device?.pushErrorScope('out-of-memory');
    let results: OrtModule.InferenceSession.OnnxValueMapType;
    try {
      results = await session.run(feeds);
    } finally {
      const scopeError = device ? await device.popErrorScope().catch(() => null) : null;
      if (scopeError) this.lastOutOfMemoryMessage = scopeError.message;
    }
    if (this.lastOutOfMemoryMessage !== undefined) {
      disposeAll(results);
      throw new Error(`GPU out of memory: ${this.lastOutOfMemoryMessage}`);
    }
    const outputName = this.model?.mapping?.output.name ?? 'last_hidden_state';
    const output = results[outputName];
    if (!output) throw new Error(`The model returned no "${outputName}"; it returned: ${Object.keys(results).join(', ')}.`);
    const data = toFloat32(await output.getData(), output.type);
    const dims = [...output.dims];
    disposeAll(results);
    return { dims, data };
  }

  private async ensureSession(): Promise<Session> {
    if (this.session) return this.session;
    if (!this.model) throw new NoModelError('No model is loaded. Load a model before running a batch.');
    if (this.backend === 'webgpu' && (this.deviceLost || !this.gpu)) await this.acquireGpu();
    await this.createSession();
    return this.session as unknown as Session;
  }

  private async createSession(): Promise<void> {
    const model = this.model;
    if (!model) throw new NoModelError('No model is loaded.');
    const backend = this.requireBackend();
    try {
      this.session = await this.ort.InferenceSession.create(model.built.modelBytes, this.sessionOptionsFor(backend));
      this.sessionLiveBytes = this.tracker ? this.tracker.liveBytes : 0;
    } catch (error) {
      throw new ModelLoadError(`Creating the ${backend} session for ${model.config.id} failed: ${errorText(error)}`, { modelId: model.config.id });
    }
  }

  private sessionOptionsFor(backend: Backend): OrtModule.InferenceSession.SessionOptions {
    const model = this.model;
    if (!model) throw new NoModelError('No model is loaded.');
    const executionProviders: OrtModule.InferenceSession.ExecutionProviderConfig[] =
      backend === 'webgpu'
        ? [{ name: 'webgpu', device: (this.gpu as AcquiredDevice).device, storageBufferCacheMode: STORAGE_BUFFER_CACHE_MODE } as OrtModule.InferenceSession.WebGpuExecutionProviderOption]
        : ['wasm'];
    return {
      executionProviders,
      graphOptimizationLevel: GRAPH_OPTIMIZATION_LEVEL,
      // 3 = error: ORT's routine warnings about shape ops placed on the CPU would otherwise reach the console as errors.
      logSeverityLevel: 3,
      externalData: model.built.externalData.length > 0 ? model.built.externalData : undefined,
    };
  }

  private async releaseSession(): Promise<void> {
    const session = this.session;
    this.session = null;
    if (session) await session.release().catch(() => undefined);
  }

  private async acquireGpu(): Promise<AcquiredDevice> {
    const gpu = await acquireDevice(undefined, this.deviceOptions);
    this.gpu = gpu;
    this.deviceLost = false;
    this.tracker = new GpuMemoryTracker(this.gpu.device);
    // A new device needs the budget installed again; it wraps createBuffer after the tracker.
    this.budget = this.budgetRequest ? installMemoryBudget(this.gpu.device, this.budgetRequest.budgetBytes, this.tracker, { label: this.budgetRequest.label }) : null;
    const device = this.gpu.device;
    device.lost.then(() => {
      if (this.gpu?.device !== device) return;
      this.deviceLost = true;
      this.tracker?.forgetAll();
      this.session = null;
    });
    device.addEventListener('uncapturederror', (event) => {
      const error = (event as GPUUncapturedErrorEvent).error;
      if (error instanceof GPUOutOfMemoryError) this.lastOutOfMemoryMessage = error.message;
    });
    return gpu;
  }

  /**
   * Measures the fp32 FLOP/s of a WGSL matrix multiply on the device, the peak that points are compared
   * with. A software adapter gets n = 128, which takes well under a second there; a GPU gets n = 2048,
   * large enough to keep it busy. Returns null when the kernel fails, so a run never stops for it.
   */
  private async measureDevicePeak(gpu: AcquiredDevice): Promise<MatmulPeakReport | null> {
    const size = gpu.adapterReport.isFallbackAdapter ? 128 : 2048;
    try {
      const peak = await measureMatmulPeak(gpu.device, { size, repeats: 5 });
      return { size: peak.size, medianMs: peak.medianMs, runs: peak.runs, flopsPerSecond: peak.flopsPerSecond, timing: peak.timing };
    } catch (error) {
      console.warn(`The matrix-multiply peak was not measured: ${errorText(error)}`);
      return null;
    }
  }

  private requireBackend(): Backend {
    if (!this.backend) throw new NotInitializedError('The profiler is not initialized. Call initialize("webgpu" | "wasm") first.');
    return this.backend;
  }

  private requireInput(): PreparedInput {
    if (!this.input) throw new NoInputError('No input sequences are loaded. Load a FASTA file or synthetic sequences first.');
    return this.input;
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task, task);
    this.queue = result.catch(() => undefined);
    return result;
  }
}


function disposeAll(results: OrtModule.InferenceSession.OnnxValueMapType): void {
  for (const value of Object.values(results)) value.dispose();
}

/**
 * Returns float32 values of an output. fp16 outputs come as a Float16Array where the runtime has one
 * (Chromium 156) and as raw bits in a Uint16Array otherwise (Node 20).
 */
function toFloat32(data: unknown, type: string): Float32Array {
  if (data instanceof Float32Array) return data;
  if (type === 'float16' && data instanceof Uint16Array) return float16ToFloat32Array(data);
  if (type === 'float16' && ArrayBuffer.isView(data)) return Float32Array.from(data as unknown as ArrayLike<number>);
  throw new Error(`The model returned "last_hidden_state" of type ${type}; the profiler reads float32 or float16 outputs.`);
}

/** Pads a batch to the sequence length that an export fixes, when the batch is not longer than it. */
function padToFixedLength(batch: Batch, mapping: InputMapping | null): Batch {
  const fixedLength = mapping?.fixedSequenceLength ?? null;
  if (fixedLength === null || batch.paddedLength >= fixedLength) return batch;
  return { ...batch, paddedLength: fixedLength, paddedTokens: batch.sequences * fixedLength };
}

function joinMessages(first: string | undefined, second: string): string {
  return first ? `${first} ${second}` : second;
}
