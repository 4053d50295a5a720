/**
 * Rune state of the profiler page and the actions that change it: load input, run a sweep, cancel.
 * Results from the worker are stored with `$state.raw`, because they are replaced whole, never mutated.
 */
import type { Backend, BatchUnit, CompanionSweep, EnvironmentReport, InputReport, ModelReport, PointResult, ProfileResult, SweepReport } from '../report/result';
import type { ChunkSettings, ForwardOutput, InputRequest, InputSummary, TokenizerInfo, TokenizerRequest } from '../worker/api';
import { ProfilerClient, WorkerTimeoutError } from './profilerClient';
import { DEFAULT_SYNTHETIC_PROTEINS, type SyntheticProteinOptions } from '../sequences/synthetic';
import { DEFAULT_SYNTHETIC_DNA, type SyntheticDnaOptions } from '../sequences/syntheticDna';
import { getModelConfig, modelInputKind, type ModelInputKind } from '../models/catalog';
import { recommendBatchSize } from '../profiling/recommend';
import { checkModelFits } from '../models/feasibility';
import { InvalidSettingError, validateSweepSettings, type SweepSettingsState } from './validateSettings';
import { DEFAULT_MEASURE_SETTINGS } from '../profiling/measure';
import { defaultSweepFor, planBatchSizes } from '../profiling/plan';
import { unmeasuredPoint, type SweepOutcome, type SweepProgress } from '../profiling/sweep';
import { searchBatchSizes, type SearchStrategy } from '../profiling/search';
import { fitMemoryModel, largestBatchWithin, memorySamplesFromPoints } from '../profiling/memoryModel';
import { largestCandidateWithinLimits } from '../gpu/limits';
import { parseByteSize } from '../gpu/budget';
import { assembleResult } from '../report/assemble';
import { validateProfileResult } from '../report/schema';

export type { SweepSettingsState } from './validateSettings';

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
  private weightBufferBytes: number | null = null;
  private lastSearch: SweepReport['search'] | null = null;
  result = $state.raw<ProfileResult | null>(null);
  runError = $state<{ name: string; message: string } | null>(null);

  readonly running = $derived(this.phase === 'preparing' || this.phase === 'running');
  readonly inputKind: ModelInputKind = $derived(modelInputKind(getModelConfig(this.modelId)));
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
  /** Input kind of the data loaded in the worker, which a model change may make stale. */
  private loadedInputKind: ModelInputKind | null = null;

  private readonly client = new ProfilerClient();
  private runId = 0;
  private inputRequestId = 0;
  private inputGeneration = -1;
  private initializedBackend: { backend: Backend; generation: number } | null = null;
  private stopRequested = false;

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
      const fit = checkModelFits(getModelConfig(this.modelId), { backend: this.backend });
      if (!fit.ok) throw new InvalidSettingError(fit.reason);
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

      // 2b. The protein half of the pipeline: ESM-2 on the six-frame translations of the same chunks.
      const companions: CompanionSweep[] = [];
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
        environment: this.environment as EnvironmentReport,
        ...mainParts,
        points: main.points,
      });
      if (companions.length > 0) result.companions = companions;
      this.result = validateProfileResult(result);
      const cancelled = mainParts.sweep.cancelled || companions.some((companion) => companion.sweep.cancelled);
      this.phase = cancelled ? 'cancelled' : 'done';
      this.statusText = cancelled ? `Cancelled after ${main.points.length + this.companionPoints.length} probes.` : 'Done.';
      if (companionError) this.runError = { name: 'CompanionSweepError', message: companionError };
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
    const limits = { maxBufferSize: this.environment.limits.maxBufferSize, maxStorageBufferBindingSize: this.environment.limits.maxStorageBufferBindingSize };
    let predicted = largestCandidateWithinLimits(getModelConfig(this.model?.id ?? this.modelId), shapes, limits);
    const budgetBytes = this.budgetBytes();
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
      storageBufferCacheMode: this.storageBufferCacheMode,
      cancelled,
    };
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
    await this.loadModel(this.modelId);
  }

  private async ensureBackend(): Promise<void> {
    const generation = this.client.generation;
    const needsInit =
      !this.initializedBackend || this.initializedBackend.backend !== this.backend || this.initializedBackend.generation !== generation;
    if (needsInit) {
      this.statusText = `Starting the ${this.backend === 'webgpu' ? 'WebGPU' : 'WASM'} backend…`;
      // A backend switch gets a fresh worker, so that no device or session of the other backend lingers.
      if (this.initializedBackend) this.client.restart();
      this.environment = await this.client.call('Starting the backend', INPUT_TIMEOUT_MS, (api) => api.initialize(this.backend));
      this.initializedBackend = { backend: this.backend, generation: this.client.generation };
    }
  }

  private async loadModel(modelId: string): Promise<void> {
    this.statusText = `Building ${modelId} and creating its session…`;
    const loaded = await this.client.call(`Loading ${modelId}`, LOAD_MODEL_TIMEOUT_MS, (api) => api.loadModel(modelId));
    this.model = loaded.report;
    this.storageBufferCacheMode = loaded.storageBufferCacheMode;
    this.weightBufferBytes = loaded.weightBufferBytes;
  }

  private async probe(batchSize: number, settings: SweepSettingsState): Promise<PointResult> {
    const timeoutMs = settings.maxTimePerPointMs + PROBE_GRACE_MS;
    return this.client.call(`The probe at batch size ${batchSize}`, timeoutMs, (api) =>
      api.probe({
        unit: settings.unit,
        batchSize,
        warmupRuns: settings.warmupRuns,
        minRuns: settings.minRuns,
        maxRuns: settings.maxRuns,
        maxTimePerPointMs: settings.maxTimePerPointMs,
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
