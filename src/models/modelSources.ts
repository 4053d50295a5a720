/**
 * Loads a researcher's own ONNX export from dropped files, a URL, a Hugging Face hub repository or the
 * app's model manifest. It returns the model bytes, the external data files that the model references,
 * config.json when there is one, and an inspection of the graph. Downloads stream, so the caller sees
 * progress. A ModelCache keeps finished downloads, and each failure is a ModelSourceError whose message
 * gives the next step.
 *
 * Hub repositories follow the transformers.js layout: config.json at the root, `onnx/model.onnx` with
 * `onnx/model_fp16.onnx` and `onnx/model_quantized.onnx` beside it, and external data files (such as
 * `onnx/model.onnx_data`) next to the .onnx file that references them.
 */
import type { OnnxInspection } from './inspectOnnx';
import { ONNX_VARIANTS, type ManifestEntry, type OnnxVariant } from './manifest';
import type { ModelCache } from './modelCache';
import { FileLoader, blobUrlHint, checkExternalLocation } from './modelFileLoader';
import { ModelSourceError, type ModelConfigJson } from './modelSourceError';
import type { ExternalDataFile } from './onnxBuilder';

export { DEFAULT_MODEL_CACHE_NAME, createCacheStorageModelCache, createMemoryModelCache, type ModelCache } from './modelCache';
export {
  ModelSourceError,
  isModelSourceError,
  type ModelConfigJson,
  type ModelSourceErrorCode,
  type ModelSourceErrorDetails,
} from './modelSourceError';

export const DEFAULT_HUB_BASE_URL = 'https://huggingface.co';

export { ONNX_VARIANTS, type OnnxVariant } from './manifest';

/** Source of a model to load. The `kind` is also the `model.source` of the profile result. */
export type ModelRequest =
  | {
      kind: 'file';
      /** One .onnx file, its external data files, and optionally config.json, as the user selected them. */
      files: { name: string; blob: Blob }[];
    }
  | { kind: 'url'; url: string }
  | {
      kind: 'hub';
      /** Repository id, owner/name, such as 'Xenova/esm2_t6_8M_UR50D'. */
      hubId: string;
      variant: OnnxVariant;
      /** Hub address without a trailing path. Default DEFAULT_HUB_BASE_URL. */
      hubBaseUrl?: string;
      /** Branch, tag or commit. Default 'main'. */
      revision?: string;
    }
  | {
      kind: 'manifest';
      entry: ManifestEntry;
      /** URL of the folder that contains manifest.json. The entry's paths are relative to it. */
      baseUrl: string;
    };

/** One progress report. Reports for one file are in order of `loadedBytes`, and the last has loadedBytes = totalBytes. */
export interface ModelLoadProgress {
  /** Path in the repository, URL or file name. */
  file: string;
  loadedBytes: number;
  /** From Content-Length or the file size. Null while unknown, but never in the last report of a file. */
  totalBytes: number | null;
  fromCache: boolean;
}

export interface FetchModelOptions {
  /** Fetch function. Default the global fetch. */
  fetch?: typeof fetch;
  /** Cache of downloaded files by URL. Default null, no cache. Dropped files are never cached. */
  cache?: ModelCache | null;
  onProgress?: (progress: ModelLoadProgress) => void;
  /** Bytes between two progress reports of one file. Default 1 MiB. The first and last are always sent. */
  progressStepBytes?: number;
  /**
   * Maximum bytes of the model and its external data together. Checked against Content-Length before a
   * download, and while it streams. Default no limit.
   */
  maxBytes?: number;
  signal?: AbortSignal;
  /**
   * Origin of the page, to tell a CORS refusal from another failed request. Default `location.origin`
   * where there is one (browser pages and workers), else null.
   */
  pageOrigin?: string | null;
}

/** A file that `fetchModelFiles` read. */
export interface LoadedFile {
  /** Path in the repository, URL or file name, as in the progress reports. */
  file: string;
  /** Null for a dropped file. */
  url: string | null;
  bytes: number;
  fromCache: boolean;
}

export interface FetchedModel {
  source: ModelRequest['kind'];
  /** Short id for the result's model.id: the hub id, the manifest id, or the .onnx file name. */
  modelId: string;
  /** Description for the UI, such as 'Xenova/esm2_t6_8M_UR50D (model_fp16)'. */
  sourceLabel: string;
  modelBytes: Uint8Array;
  /** In the form of onnxruntime-web's `externalData` session option: `path` is the location in the model. */
  externalData: ExternalDataFile[];
  config: ModelConfigJson | null;
  inspection: OnnxInspection;
  variant?: OnnxVariant;
  /** URL of the .onnx file, null for a dropped file. */
  modelUrl: string | null;
  /** Every file read, in order: config.json first where there is one, then the model, then external data. */
  files: LoadedFile[];
  /** Problems that did not stop the load, such as a failed cache write. */
  warnings: string[];
}

const CONFIG_FILE = 'config.json';

/**
 * Fetches or reads the model that `request` names, with its config.json and external data:
 * 1. config.json: from the hub repository's root (optional: a 404 gives a null config), from the
 *    manifest entry's `config` path, or from a dropped file of that name.
 * 2. The .onnx file, inspected with inspectOnnxModel.
 * 3. Each external data file that the model's initializers reference, from the .onnx file's folder or
 *    among the dropped files.
 * Files are cached after they pass their checks. Throws ModelSourceError. An abort through
 * `options.signal` rejects with the signal's reason instead.
 */
export async function fetchModelFiles(request: ModelRequest, options: FetchModelOptions = {}): Promise<FetchedModel> {
  const loader = new FileLoader(options);
  switch (request.kind) {
    case 'hub':
      return loadFromHub(loader, request);
    case 'url':
      return loadFromUrl(loader, request.url);
    case 'manifest':
      return loadFromManifest(loader, request.entry, request.baseUrl);
    case 'file':
      return loadFromFiles(loader, request.files);
  }
}

/** Returns the path of a variant in the transformers.js layout, such as 'onnx/model_fp16.onnx'. */
export function variantPath(variant: OnnxVariant): string {
  return `onnx/${variant}.onnx`;
}

const HUB_NAME_PART = /^[A-Za-z0-9_](?:[\w.-]*[A-Za-z0-9_])?$/;
/** The hub's limit on the length of a repository name. */
const HUB_NAME_MAX_CHARS = 96;

/**
 * Checks a hub repository id: owner/name, each part of letters, digits, '-', '_' and '.', starting and
 * ending with a letter, digit or '_', without '--' or '..', and the name at most 96 characters. Returns
 * the id without surrounding spaces. Throws ModelSourceError 'invalid-id', and for a pasted hub URL the
 * message gives the id in it.
 */
export function parseHubId(input: string): string {
  const hubId = input.trim();
  const parts = hubId.split('/');
  const valid =
    parts.length === 2 &&
    parts.every((part) => HUB_NAME_PART.test(part) && !part.includes('--') && !part.includes('..')) &&
    parts[1].length <= HUB_NAME_MAX_CHARS;
  if (valid) return hubId;

  const fromUrl = /^https?:\/\/[^/]+\/([^/]+\/[^/?#]+)/.exec(hubId)?.[1];
  const hint = fromUrl ? ` To load that repository, enter its id '${fromUrl}' instead of the URL.` : '';
  throw new ModelSourceError(
    'invalid-id',
    `Invalid hub id '${input}': expected owner/name, such as 'Xenova/esm2_t6_8M_UR50D', with letters, digits, ` +
      `'-', '_' and '.' in each part.${hint}`,
    { hubId: input },
  );
}

/** Returns `{hubBaseUrl}/{hubId}/resolve/{revision}/{path}`, the address of one file of a hub repository. */
export function hubFileUrl(hubId: string, path: string, hubBaseUrl: string = DEFAULT_HUB_BASE_URL, revision = 'main'): string {
  const base = hubBaseUrl.replace(/\/+$/, '');
  return `${base}/${parseHubId(hubId)}/resolve/${encodeURIComponent(revision)}/${path}`;
}

// ---------------------------------------------------------------------------------------------------
// Sources

async function loadFromHub(loader: FileLoader, request: Extract<ModelRequest, { kind: 'hub' }>): Promise<FetchedModel> {
  const hubId = parseHubId(request.hubId);
  if (!ONNX_VARIANTS.includes(request.variant)) {
    throw new ModelSourceError(
      'invalid-request',
      `Unknown ONNX variant '${String(request.variant)}'. Valid variants: ${ONNX_VARIANTS.join(', ')}.`,
      { hubId },
    );
  }
  const fileUrl = (path: string): string => hubFileUrl(hubId, path, request.hubBaseUrl, request.revision);
  const modelPath = variantPath(request.variant);

  // 1. config.json, which the layout has but the profiler can do without.
  const configBytes = await loader.fetchOptional(fileUrl(CONFIG_FILE), CONFIG_FILE, {
    htmlHint: HUB_HTML_HINT,
    notFound: () => null,
    http: (status, url) => hubAccessError(status, url, hubId),
  });
  const config = configBytes === null ? null : await loader.parseConfig(configBytes, fileUrl(CONFIG_FILE), fileUrl(CONFIG_FILE));

  // 2. The model.
  const modelUrl = fileUrl(modelPath);
  const modelBytes = await loader.fetchRequired(modelUrl, modelPath, {
    htmlHint: HUB_HTML_HINT,
    notFound: (url) =>
      new ModelSourceError(
        'not-found',
        `Not found: ${url} (HTTP 404). Check that the repository '${hubId}' exists and has ${modelPath}. ` +
          `Repositories in the transformers.js layout usually have ${ONNX_VARIANTS.map(variantPath).join(', ')}. ` +
          "Pick a variant that the repository's onnx folder lists.",
        { url, status: 404, hubId, fileName: modelPath },
      ),
    http: (status, url) => hubAccessError(status, url, hubId),
  });
  const inspection = await loader.inspect(modelBytes, modelUrl, modelPath);

  // 3. External data next to the model.
  const externalData = await loader.fetchExternalData(inspection.externalDataFiles, modelUrl, (location) => `onnx/${location}`, {
    htmlHint: HUB_HTML_HINT,
    http: (status, url) => hubAccessError(status, url, hubId),
  });

  return loader.result({
    source: 'hub',
    modelId: hubId,
    sourceLabel: `${hubId} (${request.variant})`,
    modelBytes,
    externalData,
    config,
    inspection,
    variant: request.variant,
    modelUrl,
  });
}

async function loadFromUrl(loader: FileLoader, url: string): Promise<FetchedModel> {
  const modelUrl = parseHttpUrl(url);
  const modelBytes = await loader.fetchRequired(modelUrl, modelUrl, {
    htmlHint: blobUrlHint(modelUrl) ?? URL_HTML_HINT,
    notFound: (missingUrl) =>
      new ModelSourceError('not-found', `Not found: ${missingUrl} (HTTP 404). Check the URL.`, { url: missingUrl, status: 404 }),
  });
  const inspection = await loader.inspect(modelBytes, modelUrl, modelUrl);
  const externalData = await loader.fetchExternalData(inspection.externalDataFiles, modelUrl, (location) => new URL(location, modelUrl).href, {
    htmlHint: URL_HTML_HINT,
  });

  return loader.result({
    source: 'url',
    modelId: lastPathSegment(new URL(modelUrl).pathname) || modelUrl,
    sourceLabel: modelUrl,
    modelBytes,
    externalData,
    config: null,
    inspection,
    modelUrl,
  });
}

async function loadFromManifest(loader: FileLoader, entry: ManifestEntry, baseUrl: string): Promise<FetchedModel> {
  const folderUrl = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const resolve = (path: string): string => new URL(path, folderUrl).href;
  const missingHint = (path: string): string =>
    `The manifest entry '${entry.id}' lists ${path}: copy the file into public/models, or fix the path in manifest.json.`;
  const notFound = (path: string) => (url: string) =>
    new ModelSourceError('not-found', `Not found: ${url} (HTTP 404). ${missingHint(path)}`, { url, status: 404, fileName: path });

  // 1. config.json, required when the entry names one.
  let config: ModelConfigJson | null = null;
  if (entry.config !== undefined) {
    const configUrl = resolve(entry.config);
    const configBytes = await loader.fetchRequired(configUrl, entry.config, { htmlHint: missingHint(entry.config), notFound: notFound(entry.config) });
    config = await loader.parseConfig(configBytes, configUrl, configUrl);
  }

  // 2. The model.
  const modelUrl = resolve(entry.path);
  const modelBytes = await loader.fetchRequired(modelUrl, entry.path, { htmlHint: missingHint(entry.path), notFound: notFound(entry.path) });
  const inspection = await loader.inspect(modelBytes, modelUrl, entry.path);

  // 3. External data. The model decides which files it needs, and the entry's list is only checked.
  for (const listed of entry.externalData ?? []) {
    if (!inspection.externalDataFiles.includes(listed)) {
      loader.warnings.push(`manifest.json lists the external data file '${listed}' for '${entry.id}', but the model does not reference it.`);
    }
  }
  const modelFolder = entry.path.includes('/') ? entry.path.slice(0, entry.path.lastIndexOf('/') + 1) : '';
  const externalData = await loader.fetchExternalData(inspection.externalDataFiles, modelUrl, (location) => `${modelFolder}${location}`, {
    htmlHint: 'The file is probably missing from public/models.',
  });

  return loader.result({
    source: 'manifest',
    modelId: entry.id,
    sourceLabel: entry.label,
    modelBytes,
    externalData,
    config,
    inspection,
    variant: entry.variant,
    modelUrl,
  });
}

async function loadFromFiles(loader: FileLoader, files: { name: string; blob: Blob }[]): Promise<FetchedModel> {
  const names = files.map((file) => file.name);
  const onnxFiles = files.filter((file) => file.name.toLowerCase().endsWith('.onnx'));
  if (onnxFiles.length !== 1) {
    const problem = onnxFiles.length === 0 ? 'none of them is an .onnx file' : `${onnxFiles.length} of them are .onnx files`;
    throw new ModelSourceError(
      onnxFiles.length === 0 ? 'not-onnx' : 'invalid-request',
      `Select one .onnx model file, with its external data files if it has any: of the selected files ` +
        `(${names.join(', ') || 'none'}), ${problem}.`,
      { names },
    );
  }
  const modelFile = onnxFiles[0];

  // 1. config.json, when the user selected one.
  const configFile = files.find((file) => lastPathSegment(file.name).toLowerCase() === CONFIG_FILE);
  const config = configFile === undefined ? null : await loader.parseConfig(await loader.readBlob(configFile.blob, configFile.name), configFile.name, null);

  // 2. The model.
  const modelBytes = await loader.readBlob(modelFile.blob, modelFile.name);
  const inspection = await loader.inspect(modelBytes, null, modelFile.name);

  // 3. External data, matched by the location in the model, or by its last path segment.
  const matches = inspection.externalDataFiles.map((location) => {
    checkExternalLocation(location, modelFile.name);
    const file = files.find((candidate) => candidate.name === location) ?? files.find((candidate) => candidate.name === lastPathSegment(location));
    return { location, file };
  });
  const missing = matches.filter((match) => match.file === undefined).map((match) => match.location);
  if (missing.length > 0) {
    throw new ModelSourceError(
      'missing-external-data',
      `${modelFile.name} keeps its weights in external data files that were not selected: ${missing.join(', ')}. ` +
        `Select ${modelFile.name} together with ${missing.length === 1 ? 'that file' : 'those files'} (in the same file dialog or drop).`,
      { fileName: modelFile.name, names: missing },
    );
  }
  const externalData: ExternalDataFile[] = [];
  for (const { location, file } of matches) {
    if (file === undefined) continue;
    externalData.push({ path: location, data: await loader.readBlob(file.blob, file.name) });
  }

  const used = new Set([modelFile, configFile, ...matches.map((match) => match.file)]);
  const unused = files.filter((file) => !used.has(file)).map((file) => file.name);
  if (unused.length > 0) loader.warnings.push(`Ignored files that the model does not reference: ${unused.join(', ')}.`);

  return loader.result({
    source: 'file',
    modelId: modelFile.name,
    sourceLabel: modelFile.name,
    modelBytes,
    externalData,
    config,
    inspection,
    modelUrl: null,
  });
}

// ---------------------------------------------------------------------------------------------------
// Messages

const HUB_HTML_HINT = 'Check the hub id and variant, or download the file and load it from disk.';
const URL_HTML_HINT =
  'The path may be wrong (some servers return their start page for a missing file), or the host may need a ' +
  'login. Open the URL in a browser tab to check, or download the file and load it from disk.';

function hubAccessError(status: number, url: string, hubId: string): ModelSourceError {
  const advice =
    status === 401 || status === 403
      ? `The hub returns ${status} for a repository that does not exist and for a private or gated one. Check ` +
        `the id '${hubId}'. For a gated model, accept its terms on the hub, download the files and load them from disk.`
      : 'Try again later, or download the files and load them from disk.';
  return new ModelSourceError('http', `Failed to fetch ${url} (HTTP ${status}). ${advice}`, { url, status, hubId });
}

function parseHttpUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch (error) {
    throw new ModelSourceError('invalid-request', `Invalid model URL '${input}'. Enter an absolute http or https URL of an .onnx file.`, { url: input }, { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ModelSourceError('invalid-request', `Invalid model URL '${input}': only http and https URLs can be fetched.`, { url: input });
  }
  return url.href;
}

function lastPathSegment(path: string): string {
  const segments = path.split(/[/\\]/);
  return segments[segments.length - 1];
}
