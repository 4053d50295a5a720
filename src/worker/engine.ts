/**
 * The profiler engine: owns the onnxruntime-web session, the GPU device and the input sequences, and
 * measures one batch size at a time. The worker exposes it through comlink; unit tests drive it
 * directly in Node on the WASM backend, so onnxruntime-web is passed in rather than imported.
 */
import type * as OrtModule from 'onnxruntime-web';
import type { Backend, BatchUnit, EnvironmentReport, PointResult } from '../report/result';
import type { ChunkSettings, ForwardOutput, InputRequest, InputSummary, LoadedModel, ProbeRequest, ProfilerApi, TokenizerInfo, TokenizerRequest } from './api';
import { acquireDevice, type AcquiredDevice } from '../gpu/device';
import { GpuMemoryTracker } from '../gpu/accounting';
import { installMemoryBudget, type MemoryBudget } from '../gpu/budget';
import type { BatchShape } from '../gpu/limits';
import { classifyFailure, errorText } from '../gpu/classify';
import { getModelConfig, modelInputKind, type ModelConfig } from '../models/catalog';
import { buildModel, type BuiltModel } from '../models/build';
import { checkModelFits } from '../models/feasibility';
import { readFasta, type FastaRecord } from '../sequences/fasta';
import { ESM_MAX_RESIDUES } from '../sequences/protein';
import { synthesizeProteins } from '../sequences/synthetic';
import { synthesizeDna } from '../sequences/syntheticDna';
import { buildDnaBatchTensors, buildEsmBatchTensors, selectSequenceBatch, selectTokenBudgetBatch, type Batch } from '../sequences/batching';
import { createEstimatedDnaTokenizer, fetchDnaTokenizer, loadDnaTokenizer, type DnaTokenizer } from '../sequences/dnaTokenizer';
import {
  foldIntoVocabulary,
  prepareDnaInput,
  prepareProteinInput,
  translateDnaInput,
  type InputOrigin,
  type PreparedInput,
} from '../sequences/inputPipeline';
import { measureRuns } from '../profiling/measure';
import { unmeasuredPoint } from '../profiling/sweep';
import { summarizeTimings } from '../profiling/stats';
import { InputMismatchError, ModelLoadError, NoInputError, NoModelError, NotInitializedError } from './errors';

type Ort = typeof OrtModule;
type Session = OrtModule.InferenceSession;

/**
 * Storage buffer cache mode for WebGPU sessions. `lazyRelease` frees each run's buffers at its end, so a
 * point's peak is its own and not the leftovers of earlier, larger batches (`bucket`, ORT's default,
 * keeps freed buffers live until the session is released).
 */
export const STORAGE_BUFFER_CACHE_MODE = 'lazyRelease';

const WEIGHTS_LABEL = 'reference architecture, synthetic weights';

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
  buildModel?: (config: ModelConfig, options: { seed: number }) => BuiltModel;
}

export class ProfilerEngine implements ProfilerApi {
  private backend: Backend | null = null;
  private gpu: AcquiredDevice | null = null;
  private tracker: GpuMemoryTracker | null = null;
  private deviceLost = false;
  private budget: MemoryBudget | null = null;
  private budgetRequest: { budgetBytes: number; label: string } | null = null;
  private lastOutOfMemoryMessage: string | undefined;
  private input: PreparedInput | null = null;
  private dnaSource: DnaSource | null = null;
  private dnaTokenizer: DnaTokenizer = createEstimatedDnaTokenizer();
  private tokenizerSource: string | null = null;
  private model: { config: ModelConfig; built: BuiltModel } | null = null;
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

  initialize(backend: Backend): Promise<EnvironmentReport> {
    return this.enqueue(async () => {
      this.backend = backend;
      const environment: EnvironmentReport = {
        userAgent: globalThis.navigator?.userAgent ?? 'unknown',
        backend,
        adapter: null,
        limits: {},
        features: [],
        wasmThreads: this.ort.env.wasm.numThreads ?? 1,
      };
      if (backend === 'webgpu') {
        await this.acquireGpu();
        const gpu = this.gpu as AcquiredDevice;
        environment.adapter = gpu.adapterReport;
        environment.limits = gpu.limits;
        environment.features = gpu.features;
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

  loadModel(modelId: string): Promise<LoadedModel> {
    return this.enqueue(async () => {
      const backend = this.requireBackend();
      const config = getModelConfig(modelId);
      const fit = checkModelFits(config, { backend, limits: this.gpu ? toBufferLimits(this.gpu.limits) : undefined });
      if (!fit.ok) throw new ModelLoadError(fit.reason, { modelId });

      await this.releaseSession();
      const buildStartMs = performance.now();
      const build = this.options.buildModel ?? buildModel;
      const built = build(config, { seed: this.options.weightSeed ?? 1 });
      const buildMs = performance.now() - buildStartMs;
      this.model = { config, built };

      const sessionStartMs = performance.now();
      this.budget?.takeRejection();
      await this.createSession();
      const sessionCreateMs = performance.now() - sessionStartMs;
      const weightRejection = this.budget?.takeRejection() ?? null;
      if (weightRejection !== null) {
        await this.releaseSession();
        throw new ModelLoadError(`The weights of ${config.id} do not fit the simulated GPU budget. ${weightRejection}`, { modelId: config.id });
      }
      return {
        report: {
          id: config.id,
          source: 'builtin',
          parameters: built.parameterCount,
          dtype: 'float32',
          layers: config.layers,
          hidden: config.hidden,
          heads: config.heads,
          weights: WEIGHTS_LABEL,
        },
        buildMs,
        sessionCreateMs,
        weightBufferBytes: this.tracker ? this.tracker.liveBytes : null,
        storageBufferCacheMode: backend === 'webgpu' ? STORAGE_BUFFER_CACHE_MODE : 'not applicable (wasm)',
      };
    });
  }

  probe(request: ProbeRequest): Promise<PointResult> {
    return this.enqueue(() => this.probeNow(request));
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

  liveGpuBytes(): Promise<number | null> {
    return Promise.resolve(this.tracker ? this.tracker.liveBytes : null);
  }

  /**
   * Measures one batch size.
   * 1. Build the batch from the input and its tensors.
   * 2. Warm up and time the runs, checking every output.
   * 3. On failure, classify it and drop the session, because some sessions fail on every later run
   *    after a failed allocation (seen with onnxruntime-web 1.30).
   */
  private async probeNow(request: ProbeRequest): Promise<PointResult> {
    const input = this.requireInput();
    if (!this.model) throw new NoModelError('No model is loaded. Load a model before running a batch.');
    this.requireMatchingInput(this.model.config, input);

    // 1. Batch and tensors.
    const batch =
      request.unit === 'tokens'
        ? selectTokenBudgetBatch(input.lengthsTokens, request.batchSize)
        : selectSequenceBatch(input.lengthsTokens, request.batchSize);
    const point = unmeasuredPoint(request.batchSize, 'ok', batch);
    if (request.unit === 'tokens' && batch.paddedTokens > request.batchSize) {
      point.message = `The budget is below the longest sequence (${batch.paddedLength} tokens with its special tokens), so that sequence runs alone, over the budget, as fair-esm batches it.`;
    }
    if (request.unit === 'tokens' && batch.sequences === input.encoded.length) point.inputExhausted = true;
    if ('repeatedSequences' in batch && typeof batch.repeatedSequences === 'number' && batch.repeatedSequences > 0) {
      point.repeatedSequences = batch.repeatedSequences;
      point.message = `The input has only ${input.encoded.length} sequences, so ${batch.repeatedSequences} of the ${batch.sequences} in this batch are repeats.`;
    }

    // 2. Warm-up and timed runs.
    try {
      const session = await this.ensureSession();
      const feeds = this.makeFeeds(batch);
      // Clears a rejection left from session creation, so that only this point's allocations count.
      this.budget?.takeRejection();
      this.tracker?.resetPeak();
      let invalidMessage: string | null = null;
      const measured = await measureRuns(async () => {
        const output = await this.runSession(session, feeds);
        invalidMessage ??= findInvalidValue(output.data);
      }, request);
      point.peakBytes = this.tracker ? this.tracker.peakBytes : null;
      const lateRejection = this.budget?.takeRejection() ?? null;
      if (lateRejection !== null) {
        point.status = 'oom';
        point.message = `GPU out of memory: ${lateRejection}`;
        await this.releaseSession();
        return point;
      }
      if (invalidMessage !== null) {
        point.status = 'invalid-output';
        point.message = invalidMessage;
      }
      const timing = summarizeTimings(measured.durationsMs);
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
      point.sequencesPerSecond = (batch.sequences * 1000) / timing.medianMs;
      point.tokensPerSecond = (batch.tokens * 1000) / timing.medianMs;
      return point;
    } catch (error) {
      // 3. Failure.
      point.peakBytes = this.tracker ? this.tracker.peakBytes : null;
      const failure = classifyFailure(error, {
        deviceLost: this.deviceLost,
        outOfMemoryMessage: this.lastOutOfMemoryMessage ?? this.budget?.takeRejection() ?? undefined,
      });
      point.status = failure.status;
      point.message = failure.message;
      await this.releaseSession();
      return point;
    }
  }

  private makeFeeds(batch: Batch): Record<string, OrtModule.Tensor> {
    const input = this.requireInput();
    const config = this.model?.config;
    const tensors =
      input.alphabet === 'dna' ? buildDnaBatchTensors(input.encoded, batch, this.dnaTokenizer.padId) : buildEsmBatchTensors(input.encoded, batch);
    if (config?.family === 'dnabert' && config.vocabSize < this.dnaTokenizer.vocabSize) foldIntoVocabulary(tensors.inputIds, config.vocabSize);
    return {
      input_ids: new this.ort.Tensor('int64', tensors.inputIds, tensors.dims),
      attention_mask: new this.ort.Tensor('int64', tensors.attentionMask, tensors.dims),
    };
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
    const output = results.last_hidden_state;
    if (!output) throw new Error(`The model returned no "last_hidden_state"; it returned: ${Object.keys(results).join(', ')}.`);
    const data = (await output.getData()) as Float32Array;
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
    const executionProviders: OrtModule.InferenceSession.ExecutionProviderConfig[] =
      backend === 'webgpu'
        ? [{ name: 'webgpu', device: (this.gpu as AcquiredDevice).device, storageBufferCacheMode: STORAGE_BUFFER_CACHE_MODE } as OrtModule.InferenceSession.WebGpuExecutionProviderOption]
        : ['wasm'];
    try {
      this.session = await this.ort.InferenceSession.create(model.built.modelBytes, {
        executionProviders,
        graphOptimizationLevel: 'all',
        // 3 = error: ORT's routine warnings about shape ops placed on the CPU would otherwise reach the console as errors.
        logSeverityLevel: 3,
        externalData: model.built.externalData.length > 0 ? model.built.externalData : undefined,
      });
    } catch (error) {
      throw new ModelLoadError(`Creating the ${backend} session for ${model.config.id} failed: ${errorText(error)}`, { modelId: model.config.id });
    }
  }

  private async releaseSession(): Promise<void> {
    const session = this.session;
    this.session = null;
    if (session) await session.release().catch(() => undefined);
  }

  private async acquireGpu(): Promise<void> {
    this.gpu = await acquireDevice();
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

function toBufferLimits(limits: Record<string, number>): { maxBufferSize: number; maxStorageBufferBindingSize: number } {
  return { maxBufferSize: limits.maxBufferSize, maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize };
}

/** Returns a message for the first NaN or infinite value, or null when every value is finite. */
export function findInvalidValue(data: Float32Array): string | null {
  for (let i = 0; i < data.length; i += 1) {
    if (!Number.isFinite(data[i])) {
      return `The output contains ${data[i]} at flat index ${i} of ${data.length}; the results of this batch size cannot be trusted.`;
    }
  }
  return null;
}

function disposeAll(results: OrtModule.InferenceSession.OnnxValueMapType): void {
  for (const value of Object.values(results)) value.dispose();
}
