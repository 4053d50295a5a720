/** Command-line options of the headless profiler, parsed and checked before anything starts. */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Backend, BatchUnit } from '../report/result';
import { defaultSweepFor, planBatchSizes } from '../profiling/plan';
import { DEFAULT_MEASURE_SETTINGS } from '../profiling/measure';
import { MODEL_CATALOG, getModelConfig, modelInputKind } from '../models/catalog';
import { LAST_CHUNK_POLICIES, type LastChunkPolicy } from '../sequences/chunking';
import { checkModelFits } from '../models/feasibility';
import { SEARCH_STRATEGIES, type SearchStrategy } from '../profiling/search';
import { parseByteSize } from '../gpu/budget';
import type { Precision } from '../app/profiler.svelte';
import { ONNX_VARIANTS, parseHubId, type OnnxVariant } from '../models/modelSources';
import type { ArchitectureOverride } from '../models/userModel';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface ProfileOptions {
  modelId: string;
  backend: Backend;
  fastaPath: string | null;
  unit: BatchUnit;
  min: number;
  max: number;
  step: number;
  headroom: number;
  warmupRuns: number;
  minRuns: number;
  maxRuns: number;
  maxTimePerPointMs: number;
  /** Target relative standard error of the median, as a fraction; 0 turns it off. */
  targetRelativeError: number;
  syntheticCount: number | null;
  outputPath: string | null;
  /** Minutes the whole run may take before the command gives up. */
  timeoutMinutes: number;
  rebuild: boolean;
  help: boolean;
  /** DNA models only: chunk length in bp, or null for whole sequences. */
  chunkLengthBp: number | null;
  lastChunk: LastChunkPolicy;
  /** DNA models only: also sweep an ESM-2 model over the six-frame translations of the chunks. */
  withProteins: boolean;
  proteinModelId: string;
  /** DNA models only: DNABERT-S tokenizer.json, for exact token counts. */
  tokenizerPath: string | null;
  gcContent: number | null;
  strategy: SearchStrategy;
  /** Simulated GPU memory, as given (e.g. "512MiB"), or null for the device's own. */
  budget: string | null;
  /** Run the recommended size with the longest sequences together in a fresh session after the sweep. */
  confirm: boolean;
  /** Run the opt-in capacity estimate before the sweep. */
  estimateCapacity: boolean;
  capacityCap: string;
  /** Capture GPU time per operator type at the recommended size after the sweep. */
  kernelTimes: boolean;
  precision: Precision;
  /** An ONNX export to profile instead of the built-in `modelId`; null for a built-in model. */
  exportSource: CliExportSource | null;
  architecture: ArchitectureOverride | null;
  /** Sweep fields given on the command line, which an export's own defaults must not replace. */
  explicitSweep: Partial<{ unit: BatchUnit; min: number; max: number; step: number }>;
}

export const USAGE = `Usage: npm run profile -- [options]

Serves the built app on 127.0.0.1, runs a batch-size sweep in headless Chromium and writes the result.

  --model ID            model to profile (default esm2_t6_8M): ${MODEL_CATALOG.map((model) => model.id).join(', ')}
  --backend NAME        webgpu or wasm (default webgpu)
  --fasta FILE          FASTA file (protein for ESM-2, DNA for DNABERT-S), plain or gzip; synthetic when omitted
  --synthetic-count N   number of synthetic sequences (default 256)
  --unit UNIT           tokens (a token budget per batch, as fair-esm) or sequences
                        (default tokens for ESM-2, sequences for DNABERT-S)
DNA models (dnabert_s):
  --chunk BP            cut DNA into chunks of BP bp, e.g. 300 or 500 (default 500), or "none"
  --last-chunk POLICY   short last piece: overlap, keep, drop or merge (default overlap)
  --with-proteins       also profile ESM-2 on the six-frame translations of the chunks
  --protein-model ID    ESM-2 model for --with-proteins (default esm2_t6_8M)
  --tokenizer FILE      DNABERT-S tokenizer.json for exact token counts (estimated without it)
  --gc F                GC content of synthetic DNA, 0 to 1 (default 0.5)

  --min N               smallest batch size (default 512 tokens, 4 sequences)
  --max N               largest batch size (default 8192 tokens, 64 sequences)
  --step N              step between batch sizes (default 512 tokens, 4 sequences)
  --headroom F          recommend F × the largest batch that ran, 0 < F ≤ 1 (default 0.8)
  --warmup N            warm-up runs per batch size (default ${DEFAULT_MEASURE_SETTINGS.warmupRuns})
  --min-runs N          timed runs per batch size, at least (default ${DEFAULT_MEASURE_SETTINGS.minRuns})
  --max-runs N          timed runs per batch size, at most (default ${DEFAULT_MEASURE_SETTINGS.maxRuns})
  --time-cap-ms MS      time cap for the timed runs of one batch size, in ms (default ${DEFAULT_MEASURE_SETTINGS.maxTimePerPointMs})
  --target-error F      stop timing a batch size once the median's relative standard error is at
                        most F, e.g. 0.02 for 2%; 0 turns it off (default ${DEFAULT_MEASURE_SETTINGS.targetRelativeError})
  --strategy NAME       how batch sizes are searched: linear (every size in order), power-bisect
                        (double until a failure, then bisect) or auto (predict from the device
                        limits, then bracket and bisect) (default linear)
  --confirm             after the sweep, run the recommended size with the longest sequences of the
                        input together in a fresh session
  --precision P         fp32, fp16 or both: fp32, then fp16, with the drift of the pooled embeddings
                        between them (default fp32). On WebGPU fp16 needs the feature shader-f16;
                        WASM runs most fp16 nodes in fp32, so its fp16 timings say little about GPUs
  --kernel-times        after the sweep, capture GPU time per operator type at the recommended size
                        (webgpu with the timestamp-query feature)
  --estimate-capacity   before the sweep, allocate GPU buffers in 256 MiB steps until one fails or
                        --capacity-cap is reached, then free them all (opt-in: other GPU programs
                        may fail meanwhile); the result records it and auto uses it as the ceiling
  --capacity-cap SIZE   largest amount --estimate-capacity allocates (default 16GiB)
  --budget SIZE         simulate a GPU with SIZE of memory for buffers, e.g. 8GiB or 512MiB
                        (webgpu only; default: the device's own memory)
  --output FILE         write the result JSON to FILE
  --model-file PATH     profile a local ONNX export instead of a built-in model; repeat it for the
                        external data files and a config.json that go with the .onnx
  --model-url URL       profile the ONNX export at URL (the host must allow cross-origin requests)
  --hub-id ID           profile a Hugging Face export by id, e.g. Xenova/esm2_t6_8M_UR50D
  --variant NAME        onnx/ file of --hub-id: model, model_fp16 or model_quantized (default model)
  --hub-base-url URL    hub address for --hub-id (default https://huggingface.co)
  --architecture F,L,H,A  family (esm2 or dnabert), layers, hidden size and attention heads of an
                        export whose config.json does not name them, e.g. esm2,6,320,20
  --timeout-min MIN     give up after MIN minutes (default 120)
  --rebuild             build the app even when dist/ looks current
  --help                show this text

Exit status: 0 when the sweep finished, 1 when it failed, 2 for invalid options.`;

/** An export named on the command line. */
export type CliExportSource =
  | { kind: 'file'; paths: string[] }
  | { kind: 'url'; url: string }
  | { kind: 'hub'; hubId: string; variant: OnnxVariant; hubBaseUrl: string | null };

function parseExportSource(values: { 'model-file'?: string[]; 'model-url'?: string; 'hub-id'?: string; variant?: string; 'hub-base-url'?: string }): CliExportSource | null {
  const sourceFlags = (['model-file', 'model-url', 'hub-id'] as const).filter((name) => values[name] !== undefined);
  if (sourceFlags.length > 1) throw new UsageError(`--${sourceFlags[0]} and --${sourceFlags[1]} exclude each other: pick one model source.`);
  if (values.variant !== undefined && values['hub-id'] === undefined) throw new UsageError('--variant applies to --hub-id only.');
  if (values['hub-base-url'] !== undefined && values['hub-id'] === undefined) throw new UsageError('--hub-base-url applies to --hub-id only.');
  if (values['model-file']) {
    const onnxFiles = values['model-file'].filter((path) => path.endsWith('.onnx'));
    if (onnxFiles.length !== 1) throw new UsageError(`--model-file needs exactly one .onnx file among its ${values['model-file'].length} paths; the others are its external data and config.json.`);
    const missing = values['model-file'].find((path) => !existsSync(path));
    if (missing !== undefined) throw new UsageError(`Invalid --model-file "${missing}": no such file. Check the path.`);
    return { kind: 'file', paths: values['model-file'] };
  }
  if (values['model-url'] !== undefined) {
    if (!/^https?:\/\//i.test(values['model-url'])) throw new UsageError(`Invalid --model-url "${values['model-url']}": expected an http(s) URL of an .onnx file.`);
    return { kind: 'url', url: values['model-url'] };
  }
  if (values['hub-id'] !== undefined) {
    const variant = (values.variant ?? 'model') as OnnxVariant;
    if (!ONNX_VARIANTS.includes(variant)) throw new UsageError(`Invalid --variant "${values.variant}": expected one of ${ONNX_VARIANTS.join(', ')}.`);
    try {
      parseHubId(values['hub-id']);
    } catch (error) {
      throw new UsageError(`Invalid --hub-id: ${error instanceof Error ? error.message : String(error)}`);
    }
    const hubBaseUrl = values['hub-base-url'] ?? null;
    if (hubBaseUrl !== null && !/^https?:\/\/[^/]/i.test(hubBaseUrl)) {
      throw new UsageError(`Invalid --hub-base-url "${hubBaseUrl}": expected an http(s) address such as https://huggingface.co.`);
    }
    return { kind: 'hub', hubId: values['hub-id'], variant, hubBaseUrl };
  }
  return null;
}

function parseArchitecture(text: string): ArchitectureOverride {
  const [family, ...sizes] = text.split(',').map((part) => part.trim());
  const numbers = sizes.map(Number);
  if ((family !== 'esm2' && family !== 'dnabert') || numbers.length !== 3 || numbers.some((value) => !Number.isInteger(value) || value < 1)) {
    throw new UsageError(`Invalid --architecture "${text}": expected FAMILY,LAYERS,HIDDEN,HEADS with FAMILY esm2 or dnabert, e.g. esm2,6,320,20.`);
  }
  return { family, layers: numbers[0], hidden: numbers[1], heads: numbers[2] };
}

/** Command-line names of the precisions. */
const PRECISION_NAMES: Record<string, Precision> = { fp32: 'float32', fp16: 'float16', both: 'both' };

function parseNumber(name: string, text: string | undefined, fallback: number, { integer = true, min = 1, max = Number.MAX_SAFE_INTEGER } = {}): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    const kind = integer ? 'an integer' : 'a number';
    throw new UsageError(`Invalid --${name} "${text}": expected ${kind} from ${min} to ${max}.`);
  }
  return value;
}

export function parseProfileArgs(argv: string[]): ProfileOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        model: { type: 'string' },
        backend: { type: 'string' },
        fasta: { type: 'string' },
        'synthetic-count': { type: 'string' },
        unit: { type: 'string' },
        min: { type: 'string' },
        max: { type: 'string' },
        step: { type: 'string' },
        headroom: { type: 'string' },
        warmup: { type: 'string' },
        'min-runs': { type: 'string' },
        'max-runs': { type: 'string' },
        'time-cap-ms': { type: 'string' },
        'target-error': { type: 'string' },
        output: { type: 'string' },
        'timeout-min': { type: 'string' },
        rebuild: { type: 'boolean' },
        chunk: { type: 'string' },
        'last-chunk': { type: 'string' },
        'with-proteins': { type: 'boolean' },
        'protein-model': { type: 'string' },
        tokenizer: { type: 'string' },
        gc: { type: 'string' },
        strategy: { type: 'string' },
        budget: { type: 'string' },
        confirm: { type: 'boolean' },
        'estimate-capacity': { type: 'boolean' },
        'capacity-cap': { type: 'string' },
        'kernel-times': { type: 'boolean' },
        precision: { type: 'string' },
        'model-file': { type: 'string', multiple: true },
        'model-url': { type: 'string' },
        'hub-id': { type: 'string' },
        variant: { type: 'string' },
        'hub-base-url': { type: 'string' },
        architecture: { type: 'string' },
        help: { type: 'boolean' },
      },
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(`${message.replace(/\.+$/, '')}. Run with --help for the options.`);
  }
  const values = parsed.values;

  const modelId = values.model ?? 'esm2_t6_8M';
  if (!MODEL_CATALOG.some((model) => model.id === modelId)) {
    throw new UsageError(`Unknown --model "${modelId}". Valid models: ${MODEL_CATALOG.map((model) => model.id).join(', ')}.`);
  }
  const backend = values.backend ?? 'webgpu';
  if (backend !== 'webgpu' && backend !== 'wasm') throw new UsageError(`Invalid --backend "${backend}": expected webgpu or wasm.`);
  const exportSource = parseExportSource(values);
  const architecture = values.architecture === undefined ? null : parseArchitecture(values.architecture);
  const isDna = exportSource ? architecture?.family === 'dnabert' : modelInputKind(getModelConfig(modelId)) === 'dna';
  const unit = values.unit ?? (isDna ? 'sequences' : 'tokens');
  if (unit !== 'tokens' && unit !== 'sequences') throw new UsageError(`Invalid --unit "${unit}": expected tokens or sequences.`);
  const sweepDefaults = defaultSweepFor(unit);

  const options: ProfileOptions = {
    modelId,
    backend,
    fastaPath: values.fasta ?? null,
    unit,
    min: parseNumber('min', values.min, sweepDefaults.min),
    max: parseNumber('max', values.max, sweepDefaults.max),
    step: parseNumber('step', values.step, sweepDefaults.step),
    headroom: parseNumber('headroom', values.headroom, 0.8, { integer: false, min: 0.01, max: 1 }),
    warmupRuns: parseNumber('warmup', values.warmup, DEFAULT_MEASURE_SETTINGS.warmupRuns, { min: 0, max: 100 }),
    minRuns: parseNumber('min-runs', values['min-runs'], DEFAULT_MEASURE_SETTINGS.minRuns, { max: 1000 }),
    maxRuns: parseNumber('max-runs', values['max-runs'], DEFAULT_MEASURE_SETTINGS.maxRuns, { max: 10000 }),
    maxTimePerPointMs: parseNumber('time-cap-ms', values['time-cap-ms'], DEFAULT_MEASURE_SETTINGS.maxTimePerPointMs, { min: 0, max: 3_600_000 }),
    targetRelativeError: parseNumber('target-error', values['target-error'], DEFAULT_MEASURE_SETTINGS.targetRelativeError, { integer: false, min: 0, max: 1 }),
    syntheticCount: values['synthetic-count'] === undefined ? null : parseNumber('synthetic-count', values['synthetic-count'], 256, { max: 1_000_000 }),
    outputPath: values.output ?? null,
    timeoutMinutes: parseNumber('timeout-min', values['timeout-min'], 120, { integer: false, min: 0.1, max: 10_000 }),
    rebuild: values.rebuild ?? false,
    help: values.help ?? false,
    chunkLengthBp: values.chunk === 'none' ? null : parseNumber('chunk', values.chunk, 500, { max: 100_000 }),
    lastChunk: (values['last-chunk'] ?? 'overlap') as LastChunkPolicy,
    withProteins: values['with-proteins'] ?? false,
    proteinModelId: values['protein-model'] ?? 'esm2_t6_8M',
    tokenizerPath: values.tokenizer ?? null,
    gcContent: values.gc === undefined ? null : parseNumber('gc', values.gc, 0.5, { integer: false, min: 0, max: 1 }),
    strategy: (values.strategy ?? 'linear') as SearchStrategy,
    budget: values.budget ?? null,
    confirm: values.confirm ?? false,
    estimateCapacity: values['estimate-capacity'] ?? false,
    capacityCap: values['capacity-cap'] ?? '16GiB',
    kernelTimes: values['kernel-times'] ?? false,
    exportSource,
    architecture,
    explicitSweep: {
      ...(values.unit !== undefined ? { unit } : {}),
      ...(values.min !== undefined ? { min: parseNumber('min', values.min, sweepDefaults.min) } : {}),
      ...(values.max !== undefined ? { max: parseNumber('max', values.max, sweepDefaults.max) } : {}),
      ...(values.step !== undefined ? { step: parseNumber('step', values.step, sweepDefaults.step) } : {}),
    },
    precision: PRECISION_NAMES[values.precision ?? 'fp32'] ?? (values.precision as Precision),
  };
  if (!SEARCH_STRATEGIES.includes(options.strategy)) {
    throw new UsageError(`Invalid --strategy "${options.strategy}": expected ${SEARCH_STRATEGIES.join(', ')}.`);
  }
  if (options.budget !== null) {
    if (backend !== 'webgpu') throw new UsageError('--budget simulates GPU memory, so it needs --backend webgpu.');
    try {
      parseByteSize(options.budget);
    } catch (error) {
      throw new UsageError(`Invalid --budget: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  try {
    parseByteSize(options.capacityCap);
  } catch (error) {
    throw new UsageError(`Invalid --capacity-cap: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (options.estimateCapacity && backend !== 'webgpu') throw new UsageError('--estimate-capacity needs --backend webgpu.');
  if (options.kernelTimes && backend !== 'webgpu') throw new UsageError('--kernel-times needs --backend webgpu, because only WebGPU times kernels.');
  if (!Object.values(PRECISION_NAMES).includes(options.precision)) {
    throw new UsageError(`Invalid --precision "${values.precision}": expected fp32, fp16 or both.`);
  }
  if (!LAST_CHUNK_POLICIES.includes(options.lastChunk)) {
    throw new UsageError(`Invalid --last-chunk "${options.lastChunk}": expected one of ${LAST_CHUNK_POLICIES.join(', ')}.`);
  }
  const proteinModel = MODEL_CATALOG.find((model) => model.id === options.proteinModelId);
  if (!proteinModel || proteinModel.family !== 'esm2') {
    const proteinIds = MODEL_CATALOG.filter((model) => model.family === 'esm2').map((model) => model.id);
    throw new UsageError(`Invalid --protein-model "${options.proteinModelId}": expected an ESM-2 model, one of ${proteinIds.join(', ')}.`);
  }
  if (!exportSource) {
    const fit = checkModelFits(getModelConfig(modelId), { backend });
    if (!fit.ok) throw new UsageError(fit.reason);
  } else if (values.model !== undefined) {
    throw new UsageError('--model names a built-in model, which excludes --model-file, --model-url and --hub-id: pick one.');
  }
  if (!isDna && !exportSource) {
    const dnaOnly = (['chunk', 'last-chunk', 'with-proteins', 'protein-model', 'tokenizer', 'gc'] as const).filter((name) => values[name] !== undefined);
    if (dnaOnly.length > 0) throw new UsageError(`--${dnaOnly[0]} applies to DNA models only, and ${modelId} is a protein model. Use --model dnabert_s.`);
  }
  if (options.max < options.min) throw new UsageError(`Invalid range: --max ${options.max} is below --min ${options.min}.`);
  // Planned here too, so that a sweep over the point limit fails with exit status 2 before the browser starts.
  try {
    planBatchSizes(options);
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
  if (options.maxRuns < options.minRuns) throw new UsageError(`Invalid runs: --max-runs ${options.maxRuns} is below --min-runs ${options.minRuns}.`);
  if (options.fastaPath !== null && options.syntheticCount !== null) throw new UsageError('--fasta and --synthetic-count exclude each other: pick one input.');
  return options;
}
