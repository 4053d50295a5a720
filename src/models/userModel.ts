/**
 * Turns an inspected ONNX export into what the profiler needs: a model config for limit predictions and
 * FLOP counts, the report fields, and the checks that run before a session is created.
 */
import type { ModelReport, ModelSource } from '../report/result';
import { DNABERT_MAX_TOKENS, ESM2_MAX_RESIDUES, type DnabertConfig, type Esm2Config, type ModelConfig } from './catalog';
import type { ArchitectureInfo, OnnxInspection } from './inspectOnnx';
import { formatBytes, WASM_HEAP_MAX_BYTES, type BufferLimits } from './feasibility';
import { largestWeightTensor, type WeightDtype } from './counts';

/** Architecture entered by the user when config.json and the graph do not name it. */
export interface ArchitectureOverride {
  family: 'esm2' | 'dnabert';
  layers: number;
  hidden: number;
  heads: number;
  /** Feed-forward inner size; 4 × hidden when not given, as in ESM-2 and BERT. */
  ffn?: number;
}

/** Raised when the architecture cannot be identified, so the page can ask for it. */
export class UnknownArchitectureError extends Error {
  override readonly name = 'UnknownArchitectureError';
  constructor(
    message: string,
    readonly details: { modelId: string; family: string },
  ) {
    super(message);
  }
}


/**
 * Builds the model config of an export from its identified architecture, or from `override` when the
 * user entered one. Throws UnknownArchitectureError when neither names the family and the sizes.
 */
export function configFromArchitecture(modelId: string, architecture: ArchitectureInfo, override: ArchitectureOverride | null): ModelConfig {
  if (override) checkOverride(modelId, architecture, override);
  const known = architecture.family === 'esm2' || architecture.family === 'dnabert';
  const family = override?.family ?? (known ? (architecture.family as 'esm2' | 'dnabert') : null);
  const layers = override?.layers ?? architecture.layers;
  const hidden = override?.hidden ?? architecture.hidden;
  const heads = override?.heads ?? architecture.heads;
  if (family === null || !isPositive(layers) || !isPositive(hidden) || !isPositive(heads)) {
    const found = architecture.family === 'unknown' ? 'no known architecture' : `family "${architecture.family}"`;
    throw new UnknownArchitectureError(
      `The profiler could not identify the architecture of ${modelId} (${found}${architecture.source === 'unknown' ? ', no config.json' : ` from ${architecture.source}`}). ` +
        'Enter the model family (ESM-2 or DNABERT-S), the number of layers, the hidden size and the attention heads, then load it again ' +
        '(on the command line: --architecture FAMILY,LAYERS,HIDDEN,HEADS, such as esm2,6,320,20).',
      { modelId, family: architecture.family },
    );
  }
  const ffn = override?.ffn ?? architecture.ffn ?? 4 * hidden;
  const vocabSize = architecture.vocab ?? (family === 'esm2' ? 33 : 4096);
  const common = { id: modelId, label: modelId, layers, hidden, heads, ffn, vocabSize, parameters: 0 };
  if (family === 'esm2') return { ...common, family, maxResidues: ESM2_MAX_RESIDUES } satisfies Esm2Config;
  return { ...common, family, maxTokens: DNABERT_MAX_TOKENS } satisfies DnabertConfig;
}

/** Raised when the entered architecture contradicts config.json or the graph, which would skew every FLOP and limit figure. */
export class ArchitectureMismatchError extends Error {
  override readonly name = 'ArchitectureMismatchError';
}

/**
 * Rejects an entered architecture that contradicts what config.json or the graph states: the family,
 * and each size they name. Heads must also divide the hidden size.
 */
function checkOverride(modelId: string, architecture: ArchitectureInfo, override: ArchitectureOverride): void {
  const conflicts: string[] = [];
  if (override.hidden % override.heads !== 0) conflicts.push(`hidden size ${override.hidden} is not divisible by ${override.heads} heads`);
  const stated = architecture.source === 'config.json' ? 'config.json' : 'the graph';
  if ((architecture.family === 'esm2' || architecture.family === 'dnabert') && architecture.family !== override.family) {
    conflicts.push(`family ${override.family}, but ${stated} identifies ${architecture.family}`);
  }
  const sizes: [keyof ArchitectureOverride & keyof ArchitectureInfo, string][] = [
    ['layers', 'layers'],
    ['hidden', 'hidden size'],
    ['heads', 'heads'],
  ];
  for (const [key, label] of sizes) {
    const known = architecture[key];
    // The graph's layer count is an estimate from LayerNorm nodes, so only config.json can contradict it.
    if (key === 'layers' && architecture.source !== 'config.json') continue;
    if (typeof known === 'number' && known !== override[key]) conflicts.push(`${label} ${override[key]}, but ${stated} states ${known}`);
  }
  if (conflicts.length > 0) {
    throw new ArchitectureMismatchError(
      `The architecture entered for ${modelId} does not match the model: ${conflicts.join('; ')}. ` +
        'Correct the values, or leave them out so that the profiler uses what the model states.',
    );
  }
}

function isPositive(value: number | undefined): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

/** Returns float16 when most initializer bytes are float16 (an fp16 export), else float32. */
export function exportDtype(inspection: OnnxInspection): 'float32' | 'float16' {
  const float16Bytes = inspection.initializersByType.find((entry) => entry.elemType === 'float16')?.bytes ?? 0;
  const float32Bytes = inspection.initializersByType.find((entry) => entry.elemType === 'float32')?.bytes ?? 0;
  return float16Bytes > float32Bytes ? 'float16' : 'float32';
}

export interface UserModelReportParts {
  modelId: string;
  source: Exclude<ModelSource, 'builtin'>;
  config: ModelConfig;
  inspection: OnnxInspection;
  /** Origin of the export: the URL, the hub id with its variant, or the file name. */
  sourceLabel: string;
  variant?: string;
  /** Download address; null for local files. */
  url: string | null;
}

export function userModelReport(parts: UserModelReportParts): ModelReport {
  return {
    id: parts.modelId,
    source: parts.source,
    parameters: parts.inspection.parameterCount,
    dtype: exportDtype(parts.inspection),
    layers: parts.config.layers,
    hidden: parts.config.hidden,
    heads: parts.config.heads,
    weights: `exported weights (${parts.sourceLabel})`,
    sourceLabel: parts.sourceLabel,
    ...(parts.variant ? { variant: parts.variant } : {}),
    ...(parts.url ? { url: parts.url } : {}),
  };
}

/**
 * Checks an export against the backend before a session is created. The WASM heap takes at most 4 GiB
 * of weights, and on WebGPU each weight tensor lives in one buffer, so the largest one (from the model
 * config's shapes) must fit maxBufferSize. Returns a reason, or null when it fits.
 */
export function checkExportFits(totalBytes: number, config: ModelConfig, dtype: WeightDtype, limits: BufferLimits | null): string | null {
  if (totalBytes > WASM_HEAP_MAX_BYTES) {
    return `The export is ${formatBytes(totalBytes)}, above the ${formatBytes(WASM_HEAP_MAX_BYTES)} that onnxruntime-web's WebAssembly heap can hold. Use a smaller model or a quantized variant.`;
  }
  if (limits) {
    const largest = largestWeightTensor(config, dtype);
    if (largest.bytes > limits.maxBufferSize) {
      return `The weight ${largest.name} [${largest.dims.join(', ')}] needs ${formatBytes(largest.bytes)}, above this device's maxBufferSize of ${formatBytes(limits.maxBufferSize)}. Use a smaller model, or a GPU with a larger limit.`;
    }
  }
  return null;
}

/**
 * Rewrites an onnxruntime-web session error about a missing kernel into a message that names the
 * operator, or returns null when the error is about something else.
 */
export function describeUnsupportedOperator(errorMessage: string, backend: 'webgpu' | 'wasm'): string | null {
  // onnxruntime 1.30 writes the first for a known op without a kernel and the second for an op it does not know.
  const match =
    /Could not find an implementation for (\S+?)\((\d+)\) node with name '([^']*)'/.exec(errorMessage) ??
    /No Op registered for (\S+) with domain_version of (\d+)/.exec(errorMessage);
  if (!match) return null;
  const operator = match[1];
  const opset = match[2] ? ` (opset ${match[2]})` : '';
  const node = match[3] ? `, node "${match[3]}"` : '';
  return (
    `The model uses the operator ${operator}${opset}${node}, which onnxruntime-web cannot run on ${backend === 'webgpu' ? 'WebGPU or its CPU fallback' : 'the WASM backend'}. ` +
    'Export the model again with standard ONNX operators (for example without custom fused ops), or simplify it with onnxruntime\'s optimizer for the same opset.'
  );
}
