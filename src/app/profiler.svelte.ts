/**
 * Rune state of the profiler page and the actions that change it: load input, run a sweep, cancel.
 * Results from the worker are stored with `$state.raw`, because they are replaced whole, never mutated.
 */
import type { Backend, BatchUnit, CompanionSweep, EnvironmentReport, InputReport, ModelReport, CapacityReport, PointResult, ProfileResult, Recommendation, SessionOptionsReport, SweepReport } from '../report/result';
import * as Comlink from 'comlink';
import type { ChunkSettings, ForwardOutput, InputRequest, InputSummary, LoadedModel, ProbeRequest, TokenizerInfo, TokenizerRequest, UserModelInfo } from '../worker/api';
import type { ModelLoadProgress } from '../models/modelSources';
import type { ArchitectureOverride } from '../models/userModel';
import { ExportSourceState } from './exportSource.svelte';
import { ProfilerClient, WorkerTimeoutError } from './profilerClient';
import { DEFAULT_SYNTHETIC_PROTEINS, type SyntheticProteinOptions } from '../sequences/synthetic';
import { DEFAULT_SYNTHETIC_DNA, type SyntheticDnaOptions } from '../sequences/syntheticDna';
import { getModelConfig, modelInputKind, type ModelConfig, type ModelInputKind } from '../models/catalog';
import { recommendBatchSize } from '../profiling/recommend';
import { checkModelFits } from '../models/feasibility';
import { InvalidSettingError, validateSweepSettings, type SweepSettingsState } from './validateSettings';
import { DEFAULT_MEASURE_SETTINGS } from '../profiling/measure';
import { defaultSweepFor, planBatchSizes } from '../profiling/plan';
import { unmeasuredPoint, type SweepOutcome, type SweepProgress } from '../profiling/sweep';
import { searchBatchSizes, type SearchStrategy } from '../profiling/search';
import { fitMemoryModel, largestBatchWithin, memorySamplesFromPoints } from '../profiling/memoryModel';
import { bufferLimitsOf, largestCandidateWithinLimits } from '../gpu/limits';
import { parseByteSize } from '../gpu/budget';
import { assembleResult } from '../report/assemble';
import { assessWorstCase } from '../profiling/worstCase';
import { summarizeDrift } from '../profiling/drift';
import { validateProfileResult } from '../report/schema';

export type { SweepSettingsState } from './validateSettings';

/** Precision of the generated graphs: one of them, or both with the drift between them. */
export type Precision = 'float32' | 'float16' | 'both';

export type RunPhase = 'idle' | 'preparing' | 'running' | 'done' | 'cancelled' | 'failed';

/**
 * Extra time a probe may take past its own time cap before the worker is considered hung, in ms. It is
 * generous because a software adapter needs minutes for one warm-up and three runs of esm2_t6_8M at
 * 1,000 tokens (measured on SwiftShader with 2 CPU cores). Real hangs never settle at all.
 */
const PROBE_GRACE_MS = 900_000;
/** Model generation and session creation for the largest built-in models take minutes on a CPU. */
const LOAD_MODEL_TIMEOUT_MS = 900_000;
const INPUT_TIMEOUT_MS = 300_000;

export function defaultSweepSettings(unit: BatchUnit = 'tokens'): SweepSettingsState {
  return { unit, ...defaultSweepFor(unit), headroom: 0.8, ...DEFAULT_MEASURE_SETTINGS };
}

export class ProfilerState {
  modelId = $state('esm2_t6_8M');
  backend = $state<Backend>('webgpu');
  sweep = $state<SweepSettingsState>(defaultSweepSettings());
  synthetic = $state<SyntheticProteinOptions>({ ...DEFAULT_SYNTHETIC_PROTEINS });
  syntheticDna = $state<SyntheticDnaOptions>({ ...DEFAULT_SYNTHETIC_DNA });
  fastaFile = $state.raw<File | null>(null);
  /** DNA chunking before DNABERT-S; VirNucPro cuts 300 or 500 bp. */
  chunking = $state<ChunkSettings>({ chunkLengthBp: 500, lastChunk: 'overlap' });
  /** Also profiles ESM-2 on the six-frame translations of the DNA chunks (the protein half of the pipeline). */
  withProteins = $state(false);
  proteinModelId = $state('esm2_t6_8M');
  tokenizer = $state.raw<TokenizerInfo>({ tokenCounts: 'estimated', source: null });
  tokenizerError = $state<string | null>(null);
  /** Search strategy over batch sizes: every size in order, or a bracketing search with fewer probes. */
  strategy = $state<SearchStrategy>('linear');
  /** Simulated GPU memory, such as "8GiB"; empty for the device's own memory. WebGPU only. */
  gpuBudget = $state('');
  /** Cap on the device's maxBufferSize in bytes, to try a GPU with a smaller limit; null for the adapter's maximum. */
  maxBufferSizeCap = $state<number | null>(null);
  /** Reports batches predicted over maxBufferSize as buffer-limit without running them. */
  predictLimits = $state(true);
  /** After the sweep, runs the recommended size with the longest sequences together in a fresh session. */
  confirmRecommendation = $state(false);
  /** After the sweep, captures GPU time per operator type at the recommended size (needs timestamp-query). */
  captureKernelTimes = $state(false);
  /** Precision of the generated graph; 'both' sweeps fp32, then fp16, and reports the drift between them. */
  precision = $state<Precision>('float32');
  /** The ONNX export to profile instead of a built-in model, when its kind is not 'builtin'. */
  readonly exportSource = new ExportSourceState();
  /** Family and sizes entered for an export whose architecture could not be identified. */
  architecture = $state<ArchitectureOverride | null>(null);
  /** The source (as `exportSource.describe()` names it) that `architecture` was entered for; null applies it to any. */
  architectureTarget: string | null = null;
  /** True after a load failed because the architecture is unknown, so the page shows the architecture form. */
  architectureNeeded = $state(false);
  /** Summary of the last loaded export; null for built-in models. */
  exportInfo = $state.raw<UserModelInfo | null>(null);
  exportLoading = $state(false);
  exportProgress = $state.raw<ModelLoadProgress | null>(null);
  exportError = $state<string | null>(null);
  /** Bytes of exports in Cache Storage, or null where unknown. */
  modelCacheBytes = $state<number | null>(null);
  /** Hub repository whose tokenizer.json was last tried, so that reloading the export does not fetch it again. */
  private hubTokenizerTried: string | null = null;
  /** The last capacity estimate, for the backend that ran it; it feeds the memory model's prediction. */
  capacity = $state.raw<CapacityReport | null>(null);
  /** Largest amount the capacity estimate may allocate, such as "16GiB". */
  capacityCap = $state('16GiB');
  capacityRunning = $state(false);
  capacityError = $state<string | null>(null);
  /** Shapes of the loaded model, for limit predictions on the page. */
  private modelConfig: ModelConfig | null = null;
  /** Name of the sweep that the progress bar describes, in a pipeline run of two sweeps. */
  sweepLabel = $state('');
  /** Points of the companion (protein) sweep while it runs. */
  companionPoints = $state.raw<PointResult[]>([]);

  input = $state.raw<InputSummary | null>(null);
  inputError = $state<string | null>(null);
  inputLoading = $state(false);

  phase = $state<RunPhase>('idle');
  progress = $state.raw<SweepProgress | null>(null);
  statusText = $state('');
  points = $state.raw<PointResult[]>([]);
  environment = $state.raw<EnvironmentReport | null>(null);
  model = $state.raw<ModelReport | null>(null);
  storageBufferCacheMode = 'not applicable (wasm)';
  private sessionOptions: SessionOptionsReport | null = null;
  private weightBufferBytes: number | null = null;
  private lastSearch: SweepReport['search'] | null = null;
  result = $state.raw<ProfileResult | null>(null);
  runError = $state<{ name: string; message: string } | null>(null);

  readonly running = $derived(this.phase === 'preparing' || this.phase === 'running');
  readonly usesExport = $derived(this.exportSource.kind !== 'builtin');
  readonly inputKind: ModelInputKind = $derived.by(() => {
    if (!this.usesExport) return modelInputKind(getModelConfig(this.modelId));
    const family = this.exportInfo?.family ?? this.architecture?.family;
    return family === 'dnabert' ? 'dna' : 'protein';
  });
  /** Whether the chosen model can load at all; limits come from the device once it is known. */
  readonly modelFit = $derived(
    checkModelFits(getModelConfig(this.modelId), {
      backend: this.backend,
      limits:
        this.environment?.backend === this.backend && this.environment.limits.maxBufferSize
          ? { maxBufferSize: this.environment.limits.maxBufferSize, maxStorageBufferBindingSize: this.environment.limits.maxStorageBufferBindingSize }
          : undefined,
    }),
  );
  /** Reason that fp16 cannot run on the chosen backend, or null when it can (or before the device is known). */
  readonly fp16Unavailable: string | null = $derived(
    this.backend === 'webgpu' && this.environment?.backend === 'webgpu' && !this.environment.features.includes('shader-f16')
      ? `this GPU${this.environment.adapter ? ` (${this.environment.adapter.vendor} ${this.environment.adapter.architecture})` : ''} does not offer the WebGPU feature shader-f16, which fp16 shaders need.`
      : null,
  );
  /** Input kind of the data loaded in the worker, which a model change may make stale. */
  private loadedInputKind: ModelInputKind | null = null;

  private readonly client = new ProfilerClient();
  private runId = 0;
  private inputRequestId = 0;
  private inputGeneration = -1;
  private initializedBackend: { backend: Backend; generation: number; maxBufferSizeCap: number | null } | null = null;
  private stopRequested = false;
  private backendQueue: Promise<void> = Promise.resolve();

  /** Reads the chosen input in the worker and shows its statistics. */
  async loadInput(): Promise<void> {
    // The latest request wins: the worker reads inputs in call order, so its state matches the last one.
    const requestId = ++this.inputRequestId;
    this.inputLoading = true;
    this.inputError = null;
    try {
      const summary = await this.client.call('Reading the input', INPUT_TIMEOUT_MS, (api) => api.loadInput(this.inputRequest()));
      if (requestId !== this.inputRequestId) return;
      this.input = summary;
      this.inputGeneration = this.client.generation;
      this.loadedInputKind = summary.alphabet ?? 'protein';
    } catch (error) {
      if (requestId !== this.inputRequestId) return;
      this.input = null;
      this.inputError = messageOf(error);
    } finally {
      if (requestId === this.inputRequestId) this.inputLoading = false;
    }
  }

  /** Picks a model and reloads the input when the model embeds another kind of sequence. */
  async selectModel(modelId: string): Promise<void> {
    const previousKind = this.inputKind;
    this.modelId = modelId;
    if (this.inputKind !== previousKind) {
      // DNABERT-S is usually batched by sequence count, ESM-2 by token budget (fair-esm).
      const unit = this.inputKind === 'dna' ? 'sequences' : 'tokens';
      this.sweep = { ...this.sweep, unit, ...defaultSweepFor(unit) };
    }
    if (this.loadedInputKind !== null && this.loadedInputKind !== this.inputKind) await this.loadInput();
  }

  /** Starts the chosen backend ahead of a run, so that the adapter and its warnings show when the page opens. */
  async detectEnvironment(): Promise<void> {
    if (this.running) return;
    try {
      await this.ensureBackend();
      this.statusText = '';
    } catch (error) {
      this.runError = { name: error instanceof Error ? error.name : 'Error', message: messageOf(error) };
    }
  }

  /** Loads DNABERT-S's tokenizer.json, so that DNA token counts are exact instead of estimated. */
  async loadTokenizer(request: TokenizerRequest): Promise<void> {
    this.tokenizerError = null;
    try {
      this.tokenizer = await this.client.call('Loading the tokenizer', INPUT_TIMEOUT_MS, (api) => api.loadTokenizer(request));
      if (this.loadedInputKind === 'dna') await this.loadInput();
    } catch (error) {
      this.tokenizerError = messageOf(error);
    }
  }

  async useFastaFile(file: File | null): Promise<void> {
    this.fastaFile = file;
    await this.loadInput();
  }

  /** Stops the sweep after the probe that is running; the points measured so far are kept. */
  cancel(): void {
    this.stopRequested = true;
    this.statusText = 'Stopping after the current probe…';
  }

  /**
   * Runs a whole profile.
   * 1. Initialize the backend, then load input and model into the worker.
   * 2. Sweep the batch sizes, one probe at a time.
   * 3. Assemble, validate and keep the result.
   */
  async run(): Promise<void> {
    const settings = $state.snapshot(this.sweep);
    // Bad settings are reported before anything is cleared, so the previous result stays on the page.
    try {
      validateSweepSettings(settings, this.input && this.loadedInputKind === this.inputKind ? this.input.longestSequenceTokens : null);
      if (!this.usesExport) {
        const fit = checkModelFits(getModelConfig(this.modelId), { backend: this.backend });
        if (!fit.ok) throw new InvalidSettingError(fit.reason);
      } else {
        this.exportSource.request(location.href);
        if (this.precision !== 'float32') throw new InvalidSettingError('Precision: exports run as exported. For fp16, load the model_fp16 variant (or an fp16 file) with precision fp32.');
      }
      if (this.precision !== 'float32' && this.fp16Unavailable !== null) throw new InvalidSettingError(`Precision ${this.precision}: fp16 is unavailable because ${this.fp16Unavailable} Choose fp32 (on the command line: --precision fp32).`);
      this.budgetBytes();
    } catch (error) {
      this.runError = { name: error instanceof Error ? error.name : 'Error', message: messageOf(error) };
      return;
    }

    const runId = ++this.runId;
    const isCurrent = () => runId === this.runId;
    this.stopRequested = false;
    this.phase = 'preparing';
    this.points = [];
    this.companionPoints = [];
    this.result = null;
    this.runError = null;
    this.progress = null;
    const withProteins = this.withProteins && this.inputKind === 'dna';

    try {
      // 1. Backend, input, model.
      const batchSizes = planBatchSizes(settings);
      await this.prepareWorker();
      if (!isCurrent()) return;
      validateSweepSettings(settings, (this.input as InputSummary).longestSequenceTokens);
      const budgetBytes = this.budgetBytes();
      if (this.backend === 'webgpu') {
        await this.client.call('Setting the GPU budget', INPUT_TIMEOUT_MS, (api) =>
          api.setMemoryBudget(budgetBytes === null ? null : { budgetBytes, label: this.gpuBudget.trim() }),
        );
      }

      // 2. Sweep.
      this.sweepLabel = withProteins ? `DNABERT-S on the DNA chunks (${this.modelId})` : '';
      const main = await this.sweepOnce(batchSizes, settings, isCurrent, (points) => (this.points = points));
      if (!isCurrent()) return;
      const mainParts = { model: this.model as ModelReport, input: stripNotices(this.input as InputSummary), sweep: this.sweepReport(settings, main.cancelled) };
      // Checked while the main model is still loaded, before a companion sweep replaces it.
      const recommendationChecks = main.cancelled || this.stopRequested ? null : await this.checkRecommendation(main.points, mainParts.sweep, settings);
      if (!isCurrent()) return;
      let kernelError: string | null = null;
      if (this.captureKernelTimes && !main.cancelled && !this.stopRequested) {
        try {
          main.points = await this.withKernelTimes(main.points, mainParts.sweep, settings);
        } catch (error) {
          kernelError = `Kernel times were not captured: ${messageOf(error)}`;
        }
        if (!isCurrent()) return;
      }

      // 2a. The fp16 variant, when both precisions were requested.
      const companions: CompanionSweep[] = [];
      if (this.precision === 'both' && !main.cancelled && !this.stopRequested) {
        const fp16 = await this.runPrecisionCompanion(batchSizes, settings, isCurrent);
        if (!isCurrent()) return;
        if (fp16) companions.push(fp16);
      }

      // 2b. The protein half of the pipeline: ESM-2 on the six-frame translations of the same chunks.
      let companionError: string | null = null;
      if (withProteins && !main.cancelled && !this.stopRequested) {
        // The DNA result is kept even when the protein half fails, for example on DNA without open reading frames.
        try {
          const companion = await this.runProteinCompanion(batchSizes, settings, isCurrent);
          if (!isCurrent()) return;
          if (companion) companions.push(companion);
        } catch (error) {
          if (!isCurrent()) return;
          companionError = `The ESM-2 sweep on the translated frames did not run: ${messageOf(error)}`;
        }
      }

      // 3. Result.
      const result = assembleResult({
        appVersion: __APP_VERSION__,
        onnxruntimeWebVersion: __ORT_VERSION__,
        environment: this.capacity && this.environment?.backend === 'webgpu' ? { ...(this.environment as EnvironmentReport), capacity: this.capacity } : (this.environment as EnvironmentReport),
        ...mainParts,
        points: main.points,
      });
      if (companions.length > 0) result.companions = companions;
      if (recommendationChecks && result.recommendation.recommendedBatchSize !== null) Object.assign(result.recommendation, recommendationChecks);
      this.result = validateProfileResult(result);
      const cancelled = mainParts.sweep.cancelled || companions.some((companion) => companion.sweep.cancelled);
      this.phase = cancelled ? 'cancelled' : 'done';
      this.statusText = cancelled ? `Cancelled after ${main.points.length + this.companionPoints.length} probes.` : 'Done.';
      if (companionError) this.runError = { name: 'CompanionSweepError', message: companionError };
      else if (kernelError) this.runError = { name: 'KernelProfileError', message: kernelError };
    } catch (error) {
      if (!isCurrent()) return;
      this.runError = { name: error instanceof Error ? error.name : 'Error', message: messageOf(error) };
      this.phase = 'failed';
      this.statusText = '';
    } finally {
      // The worker now contains translated proteins, so DNA input is read again before the next run.
      if (withProteins && isCurrent()) this.inputGeneration = -1;
    }
  }

  /**
   * Checks the recommended size against the worst batch of the input (its longest sequences together)
   * and, when `confirmRecommendation` is set, runs that batch in a fresh session.
   */
  private async checkRecommendation(points: PointResult[], sweep: SweepReport, settings: SweepSettingsState): Promise<Pick<Recommendation, 'worstCase' | 'confirmation'> | null> {
    const size = recommendBatchSize(points, { unit: sweep.unit, step: sweep.step, min: sweep.min, headroom: sweep.headroom }).recommendedBatchSize;
    if (size === null) return null;
    const shape = await this.client.call('Planning the worst case', INPUT_TIMEOUT_MS, (api) => api.describeWorstCase(settings.unit, size));
    const limits = this.environment?.backend === 'webgpu' && this.environment.limits.maxBufferSize ? bufferLimitsOf(this.environment.limits) : null;
    const worstCase = assessWorstCase({
      shape,
      points,
      config: this.modelConfig,
      limits,
      budgetBytes: this.budgetBytes(),
      weightBytes: this.weightBufferBytes,
    });
    if (!this.confirmRecommendation) return { worstCase };

    this.statusText = `Confirming ${size} ${settings.unit} with the longest sequences in a fresh session…`;
    const confirmation = await this.probe(size, settings, { batchShape: 'worst-case', freshSession: true });
    worstCase.status = confirmation.status;
    worstCase.message +=
      confirmation.status === 'ok'
        ? ` The confirmation run of this batch in a fresh session ran${confirmation.peakBytes !== null ? `, with a peak of ${(confirmation.peakBytes / 2 ** 20).toFixed(1)} MiB` : ''}.`
        : ` The confirmation run of this batch in a fresh session failed (${confirmation.status}): ${confirmation.message ?? 'no message'} Use a smaller batch size for inputs like this one.`;
    return { worstCase, confirmation };
  }

  /**
   * Sweeps the fp16 variant of the main model over the same batch sizes, after comparing the pooled
   * embeddings of both precisions on the first sequences of the input.
   */
  private async runPrecisionCompanion(batchSizes: number[], settings: SweepSettingsState, isCurrent: () => boolean): Promise<CompanionSweep | null> {
    this.phase = 'preparing';
    this.statusText = 'Embedding reference sequences in fp32…';
    const driftSequences = 8;
    const reference = await this.client.call('Embedding in fp32', LOAD_MODEL_TIMEOUT_MS, (api) => api.embedPooled(driftSequences));
    await this.loadModel(this.modelId, 'float16');
    if (!isCurrent()) return null;
    const halves = await this.client.call('Embedding in fp16', LOAD_MODEL_TIMEOUT_MS, (api) => api.embedPooled(driftSequences));
    const drift = summarizeDrift(reference, halves);

    this.sweepLabel = `fp16 variant of ${this.modelId}`;
    const companion = await this.sweepOnce(batchSizes, settings, isCurrent, (points) => (this.companionPoints = points));
    const sweep = this.sweepReport(settings, companion.cancelled);
    return {
      role: 'fp16 variant of the same model: the same batch sizes in half precision',
      model: this.model as ModelReport,
      input: stripNotices(this.input as InputSummary),
      sweep,
      points: companion.points,
      recommendation: recommendBatchSize(companion.points, { unit: sweep.unit, step: sweep.step, min: sweep.min, headroom: sweep.headroom, cancelled: sweep.cancelled }),
      drift,
    };
  }

  /**
   * Captures kernel times at the recommended batch size, or at the largest point that ran below it when
   * the recommendation itself was not measured, and returns the points with that one's `kernelTimes` set.
   */
  private async withKernelTimes(points: PointResult[], sweep: SweepReport, settings: SweepSettingsState): Promise<PointResult[]> {
    const recommended = recommendBatchSize(points, { unit: sweep.unit, step: sweep.step, min: sweep.min, headroom: sweep.headroom }).recommendedBatchSize;
    if (recommended === null) return points;
    const target = points.filter((point) => point.status === 'ok' && point.batchSize <= recommended).at(-1);
    if (!target) return points;
    this.statusText = `Capturing kernel times at ${target.batchSize} ${settings.unit}…`;
    const kernelTimes = await this.client.call('Capturing kernel times', settings.maxTimePerPointMs + PROBE_GRACE_MS, (api) =>
      api.profileKernels({ unit: settings.unit, batchSize: target.batchSize, runs: 3 }),
    );
    const updated = points.map((point) => (point === target ? { ...point, kernelTimes } : point));
    this.points = updated;
    return updated;
  }

  /** Translates the DNA chunks in the worker and sweeps the protein model over the kept frames. */
  private async runProteinCompanion(batchSizes: number[], settings: SweepSettingsState, isCurrent: () => boolean): Promise<CompanionSweep | null> {
    this.phase = 'preparing';
    this.statusText = 'Translating the DNA chunks in six frames…';
    const proteins = await this.client.call('Translating the input', INPUT_TIMEOUT_MS, (api) => api.translateInput());
    this.loadedInputKind = 'protein';
    await this.loadModel(this.proteinModelId);
    if (!isCurrent()) return null;
    this.sweepLabel = `ESM-2 on the translated frames (${this.proteinModelId})`;
    const companion = await this.sweepOnce(batchSizes, settings, isCurrent, (points) => (this.companionPoints = points));
    const sweep = this.sweepReport(settings, companion.cancelled);
    return {
      role: 'protein half of the pipeline: ESM-2 on the six-frame translations of the DNA chunks',
      model: this.model as ModelReport,
      input: stripNotices(proteins),
      sweep,
      points: companion.points,
      recommendation: recommendBatchSize(companion.points, { unit: sweep.unit, step: sweep.step, min: sweep.min, headroom: sweep.headroom, cancelled: sweep.cancelled }),
    };
  }

  /** Returns the simulated GPU budget in bytes, or null for none. Throws InvalidSettingError for an unreadable size. */
  private budgetBytes(): number | null {
    const text = this.gpuBudget.trim();
    if (text === '' || this.backend !== 'webgpu') return null;
    try {
      return parseByteSize(text);
    } catch (error) {
      throw new InvalidSettingError(`Simulated GPU memory: ${messageOf(error)}`);
    }
  }

  /**
   * Sweeps the loaded model over `batchSizes` with the chosen strategy, replacing the worker when a probe
   * hangs. For `auto`, the prediction comes from the device's maxBufferSize and, under a simulated budget,
   * from a memory model fitted to the first two probes.
   */
  private async sweepOnce(
    batchSizes: number[],
    settings: SweepSettingsState,
    isCurrent: () => boolean,
    showPoints: (points: PointResult[]) => void,
  ): Promise<SweepOutcome> {
    this.phase = 'running';
    this.statusText = '';
    let hung = false;
    const measured = new Map<number, PointResult>();
    const probeOnce = async (batchSize: number): Promise<PointResult> => {
      const known = measured.get(batchSize);
      if (known) return known;
      const probeGuarded = () =>
        this.probe(batchSize, settings).catch(async (error: unknown) => {
          if (!(error instanceof WorkerTimeoutError)) throw error;
          hung = true;
          return timedOutPoint(batchSize, error);
        });
      let point = await probeGuarded();
      if (point.status === 'device-lost' && !hung) {
        // A lost device is often a driver reset, not this batch's fault: the worker creates a new device
        // and session, and the same batch size is tried once more before the sweep stops there.
        const lostMessage = point.message ?? 'The GPU device was lost.';
        point = await probeGuarded();
        point = { ...point, message: `${point.status === 'ok' ? 'Recovered on a new device' : 'Retried on a new device'} after a device loss (${lostMessage})${point.message ? ` ${point.message}` : ''}` };
      }
      measured.set(batchSize, point);
      if (isCurrent()) showPoints([...measured.values()].sort((a, b) => a.batchSize - b.batchSize));
      return point;
    };

    const strategy = this.strategy;
    const predicted = strategy === 'auto' ? await this.predictMaxBatchSize(batchSizes, settings, probeOnce) : null;
    const outcome = await searchBatchSizes(batchSizes, probeOnce, {
      strategy,
      predictedMaxBatchSize: predicted,
      onProgress: (progress) => {
        if (isCurrent()) this.progress = { ...progress, elapsedMs: progress.elapsedMs, remainingMs: progress.remainingMs ?? null };
      },
      shouldStop: () => this.stopRequested || hung || !isCurrent(),
    });
    const points = [...measured.values()].sort((a, b) => a.batchSize - b.batchSize);
    this.lastSearch = { strategy, probes: measured.size, elapsedMs: outcome.elapsedMs, predictedMaxBatchSize: predicted };
    return {
      points,
      cancelled: outcome.cancelled && !hung,
      stoppedBy: points.find((point) => point.batchSize === outcome.firstFailingBatchSize) ?? null,
    };
  }

  private async predictMaxBatchSize(
    batchSizes: number[],
    settings: SweepSettingsState,
    probeOnce: (batchSize: number) => Promise<PointResult>,
  ): Promise<number | null> {
    if (this.backend !== 'webgpu' || !this.environment?.limits.maxBufferSize) return null;
    const shapes = await this.client.call('Planning batches', INPUT_TIMEOUT_MS, (api) => api.describeBatches(settings.unit, batchSizes));
    const limits = bufferLimitsOf(this.environment.limits);
    if (!this.modelConfig) return null;
    let predicted = largestCandidateWithinLimits(this.modelConfig, shapes, limits);
    // Without a simulated budget, an estimated capacity that ended in out of memory takes its place.
    const budgetBytes = this.budgetBytes() ?? (this.capacity?.stoppedBy === 'out-of-memory' ? this.capacity.allocatedBytes : null);
    if (budgetBytes !== null && batchSizes.length >= 2) {
      // The first two probes feed the memory model; they are real points of the sweep.
      for (const size of batchSizes.slice(0, 2)) await probeOnce(size);
      const model = fitMemoryModel(memorySamplesFromPoints(await Promise.all(batchSizes.slice(0, 2).map(probeOnce))), {
        fixedBytes: this.weightBufferBytes ?? undefined,
      });
      const byMemory = largestBatchWithin(model, budgetBytes, shapes);
      predicted = predicted === null ? byMemory : Math.min(predicted, byMemory ?? predicted);
    }
    return predicted;
  }

  private sweepReport(settings: SweepSettingsState, cancelled: boolean): SweepReport {
    const budgetBytes = this.budgetBytes();
    return {
      ...(this.lastSearch ? { search: this.lastSearch } : {}),
      ...(budgetBytes !== null ? { gpuBudgetBytes: budgetBytes } : {}),
      unit: settings.unit,
      min: settings.min,
      max: settings.max,
      step: settings.step,
      warmupRuns: settings.warmupRuns,
      headroom: settings.headroom,
      minRuns: settings.minRuns,
      maxRuns: settings.maxRuns,
      maxTimePerPointMs: settings.maxTimePerPointMs,
      targetRelativeError: settings.targetRelativeError,
      storageBufferCacheMode: this.storageBufferCacheMode,
      ...(this.sessionOptions ? { sessionOptions: this.sessionOptions } : {}),
      cancelled,
    };
  }

  /**
   * Estimates the GPU's memory by allocating 256 MiB buffers until one fails or the cap is reached, then
   * frees them all. Opt-in: while it runs, other programs on the GPU may fail to allocate.
   */
  async estimateCapacity(): Promise<void> {
    if (this.running || this.capacityRunning) return;
    this.capacityError = null;
    let capBytes: number;
    try {
      capBytes = parseByteSize(this.capacityCap.trim());
    } catch (error) {
      this.capacityError = `Capacity cap: ${messageOf(error)}`;
      return;
    }
    if (this.backend !== 'webgpu') {
      this.capacityError = 'The capacity estimate needs the WebGPU backend. Pick WebGPU and try again.';
      return;
    }
    this.capacityRunning = true;
    try {
      await this.ensureBackend();
      // Under a simulated budget the estimate finds that budget, as a run would.
      const budgetBytes = this.budgetBytes();
      await this.client.call('Setting the GPU budget', INPUT_TIMEOUT_MS, (api) =>
        api.setMemoryBudget(budgetBytes === null ? null : { budgetBytes, label: this.gpuBudget.trim() }),
      );
      const stepBytes = Math.min(256 * 2 ** 20, capBytes);
      this.capacity = await this.client.call('Estimating GPU capacity', LOAD_MODEL_TIMEOUT_MS, (api) => api.estimateCapacity({ stepBytes, capBytes }));
    } catch (error) {
      this.capacityError = messageOf(error);
    } finally {
      this.capacityRunning = false;
    }
  }

  /** GPU bytes live in the worker now, for leak checks. */
  liveGpuBytes(): Promise<number | null> {
    return this.client.api.liveGpuBytes();
  }

  /** Releases the worker's session; the next run creates it again. */
  async releaseModel(): Promise<void> {
    await this.client.api.releaseModel();
  }

  /** Destroys the worker's GPU device, as a driver reset would; the next probe recovers on a new device. */
  async loseDevice(): Promise<void> {
    await this.client.api.loseDevice();
  }

  /** Runs the chosen model once on the first `count` input sequences, on the chosen backend, for comparing backends. */
  async forward(count: number): Promise<ForwardOutput> {
    await this.prepareWorker();
    this.statusText = '';
    return this.client.call('The forward pass', LOAD_MODEL_TIMEOUT_MS, (api) => api.forward(count));
  }

  private async prepareWorker(): Promise<void> {
    await this.ensureBackend();
    if (!this.input || this.inputGeneration !== this.client.generation || this.loadedInputKind !== this.inputKind) {
      this.statusText = 'Reading the input…';
      await this.loadInput();
      if (!this.input) throw new Error(this.inputError ?? 'The input could not be read.');
    }
    if (this.usesExport) await this.loadExportNow();
    else await this.loadModel(this.modelId, this.precision === 'float16' ? 'float16' : 'float32');
  }

  /**
   * Loads the chosen export in the worker, so that the page shows its inputs and architecture before a
   * run. A run loads it again, from Cache Storage.
   */
  async loadExport(): Promise<void> {
    if (this.running) return;
    try {
      await this.ensureBackend();
      await this.loadExportNow();
      this.statusText = '';
    } catch {
      // loadExportNow stored the message in exportError for the model panel.
    }
  }

  private async loadExportNow(): Promise<void> {
    this.exportLoading = true;
    this.exportError = null;
    this.exportProgress = null;
    const previousKind = this.inputKind;
    try {
      const request = this.exportSource.request(location.href);
      this.statusText = `Loading ${this.exportSource.describe()}…`;
      const onProgress = Comlink.proxy((progress: ModelLoadProgress) => {
        this.exportProgress = progress;
      });
      const applies = this.architectureTarget === null || this.architectureTarget === this.exportSource.describe();
      const architecture = this.architecture && applies ? $state.snapshot(this.architecture) : null;
      this.exportInfo = null;
      const loaded = await this.client.call(`Loading ${this.exportSource.describe()}`, LOAD_MODEL_TIMEOUT_MS, (api) =>
        api.loadUserModel({ source: request, architecture }, onProgress),
      );
      this.applyLoadedModel(loaded);
      this.exportInfo = loaded.userModel ?? null;
      this.architectureNeeded = false;
      // An earlier run's complaint about the source (an empty or invalid id) no longer applies.
      if (this.runError?.name === 'InvalidSettingError') this.runError = null;
      if (this.exportInfo?.family === 'dnabert' && request.kind === 'hub') await this.loadHubTokenizer(request.hubId, request.hubBaseUrl);
      if (this.inputKind !== previousKind) {
        const unit = this.inputKind === 'dna' ? 'sequences' : 'tokens';
        this.sweep = { ...this.sweep, unit, ...defaultSweepFor(unit) };
        await this.loadInput();
      }
    } catch (error) {
      this.exportError = messageOf(error);
      this.architectureNeeded = error instanceof Error && error.name === 'UnknownArchitectureError';
      throw error;
    } finally {
      this.exportLoading = false;
      void this.refreshModelCacheBytes();
    }
  }

  /** Loads tokenizer.json from the same hub repository, so that DNA token counts are exact; a missing one keeps estimates. */
  private async loadHubTokenizer(hubId: string, hubBaseUrl: string | undefined): Promise<void> {
    // One attempt per repository: a second load of the same export must not fetch again.
    const key = `${hubBaseUrl ?? ''} ${hubId}`;
    if (this.hubTokenizerTried === key) return;
    this.hubTokenizerTried = key;
    try {
      this.tokenizer = await this.client.call('Loading the tokenizer', INPUT_TIMEOUT_MS, (api) => api.loadTokenizer({ kind: 'hub', hubId, hubBaseUrl }));
    } catch (error) {
      this.tokenizerError = `${hubId} has no usable tokenizer.json, so DNA token counts are estimated: ${messageOf(error)}`;
    }
  }

  /** Reads how many bytes of exports Cache Storage keeps. */
  async refreshModelCacheBytes(): Promise<void> {
    try {
      this.modelCacheBytes = await this.client.call('Reading the model cache', INPUT_TIMEOUT_MS, (api) => api.modelCacheBytes());
    } catch {
      this.modelCacheBytes = null;
    }
  }

  /** Deletes every cached export, so that the next load downloads again. */
  async clearModelCache(): Promise<void> {
    await this.client.call('Clearing the model cache', INPUT_TIMEOUT_MS, (api) => api.clearModelCache());
    await this.refreshModelCacheBytes();
  }

  /**
   * Starts the chosen backend unless it already runs. Calls go one after another: the backend detected
   * when the page opens may still be starting when a run for another backend begins, and the run must
   * then wait for it and replace it, never share its worker.
   */
  private ensureBackend(): Promise<void> {
    const next = this.backendQueue.then(() => this.ensureBackendNow());
    this.backendQueue = next.catch(() => undefined);
    return next;
  }

  private async ensureBackendNow(): Promise<void> {
    const backend = this.backend;
    const maxBufferSizeCap = this.maxBufferSizeCap;
    const needsInit =
      !this.initializedBackend ||
      this.initializedBackend.backend !== backend ||
      this.initializedBackend.generation !== this.client.generation ||
      this.initializedBackend.maxBufferSizeCap !== maxBufferSizeCap;
    if (!needsInit) return;
    this.statusText = `Starting the ${backend === 'webgpu' ? 'WebGPU' : 'WASM'} backend…`;
    // A backend switch gets a fresh worker, so that no device or session of the other backend lingers.
    if (this.initializedBackend) this.client.restart();
    this.initializedBackend = null;
    this.environment = await this.client.call('Starting the backend', INPUT_TIMEOUT_MS, (api) =>
      api.initialize(backend, maxBufferSizeCap === null ? {} : { maxBufferSizeBytes: maxBufferSizeCap }),
    );
    this.initializedBackend = { backend, generation: this.client.generation, maxBufferSizeCap };
  }

  private async loadModel(modelId: string, dtype: 'float32' | 'float16' = 'float32'): Promise<void> {
    this.statusText = `Building ${modelId}${dtype === 'float16' ? ' (fp16)' : ''} and creating its session…`;
    const loaded = await this.client.call(`Loading ${modelId}`, LOAD_MODEL_TIMEOUT_MS, (api) => api.loadModel(modelId, { dtype }));
    this.applyLoadedModel(loaded);
  }

  private applyLoadedModel(loaded: LoadedModel): void {
    this.model = loaded.report;
    this.modelConfig = loaded.config;
    this.storageBufferCacheMode = loaded.storageBufferCacheMode;
    this.sessionOptions = loaded.sessionOptions;
    this.weightBufferBytes = loaded.weightBufferBytes;
  }

  private async probe(batchSize: number, settings: SweepSettingsState, extra: Partial<ProbeRequest> = {}): Promise<PointResult> {
    const timeoutMs = settings.maxTimePerPointMs + PROBE_GRACE_MS;
    return this.client.call(`The probe at batch size ${batchSize}`, timeoutMs, (api) =>
      api.probe({
        ...extra,
        checkLimits: this.predictLimits,
        unit: settings.unit,
        batchSize,
        warmupRuns: settings.warmupRuns,
        minRuns: settings.minRuns,
        maxRuns: settings.maxRuns,
        maxTimePerPointMs: settings.maxTimePerPointMs,
        targetRelativeError: settings.targetRelativeError,
      }),
    );
  }

  private inputRequest(): InputRequest {
    const chunking = $state.snapshot(this.chunking);
    if (this.fastaFile) return { kind: 'fasta', file: this.fastaFile, fileName: this.fastaFile.name, alphabet: this.inputKind, chunking };
    if (this.inputKind === 'dna') return { kind: 'synthetic-dna', options: $state.snapshot(this.syntheticDna), chunking };
    return { kind: 'synthetic', options: $state.snapshot(this.synthetic) };
  }
}

function timedOutPoint(batchSize: number, error: WorkerTimeoutError): PointResult {
  return { ...unmeasuredPoint(batchSize, 'error'), message: error.message };
}

function stripNotices(summary: InputSummary): InputReport {
  const { notices: _notices, skippedCount: _skipped, longestSequenceTokens: _longest, ...report } = summary;
  return report;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
