/**
 * Downloads and reads the files of one model load: cache lookups, streamed downloads with progress and
 * a byte limit, and the errors for each way a download can fail. modelSources.ts decides which files
 * to load, and this module loads them.
 */
import { formatBytes } from './feasibility';
import { inspectOnnxModel, looksLikeHtml, type OnnxInspection } from './inspectOnnx';
import { ModelSourceError, type ModelConfigJson } from './modelSourceError';
import type { FetchedModel, FetchModelOptions, LoadedFile, ModelLoadProgress } from './modelSources';
import type { ExternalDataFile } from './onnxBuilder';

const DEFAULT_PROGRESS_STEP_BYTES = 1024 * 1024;
const INITIAL_BUFFER_BYTES = 64 * 1024;

/** For a hub page URL (/blob/), suggests the file URL (/resolve/). */
export function blobUrlHint(url: string): string | null {
  if (!url.includes('/blob/')) return null;
  return `This is the address of the hub's web page for the file. Use the file address: ${url.replace('/blob/', '/resolve/')}`;
}

/**
 * Rejects an external data location that could point outside the model's folder: an absolute URL or
 * path, or one with a '..' segment. ONNX defines the location as relative to the model file.
 */
export function checkExternalLocation(location: string, modelName: string): void {
  const segments = location.split(/[/\\]/);
  const invalid =
    location.length === 0 || /^[A-Za-z][A-Za-z0-9+.-]*:/.test(location) || location.startsWith('/') || location.startsWith('\\') || segments.includes('..');
  if (invalid) {
    throw new ModelSourceError(
      'invalid-external-data',
      `${modelName} references external data at '${location}', which is not a relative path inside the model's ` +
        'folder. Re-export the model with its external data saved next to the .onnx file.',
      { fileName: modelName, names: [location] },
    );
  }
}

export interface FetchHandlers {
  /** Advice appended to the message when the server returns an HTML page. */
  htmlHint: string;
  /** Builds the error for any status other than 2xx and 404. Default a generic 'http' error. */
  http?: (status: number, url: string) => ModelSourceError;
}

export interface RequiredFetchHandlers extends FetchHandlers {
  notFound: (url: string) => ModelSourceError;
}

export interface OptionalFetchHandlers extends FetchHandlers {
  notFound: (url: string) => null;
}

/** Loads the files of one request, keeping the byte total, the list of files read and the warnings. */
export class FileLoader {
  readonly warnings: string[] = [];
  private readonly files: LoadedFile[] = [];
  /** URLs that the cache served in this load, which `store` does not write back. */
  private readonly cachedUrls = new Set<string>();
  private loadedBytes = 0;
  private readonly fetchFn: typeof fetch;
  private readonly pageOrigin: string | null;
  private readonly progressStepBytes: number;

  constructor(private readonly options: FetchModelOptions) {
    this.fetchFn = options.fetch ?? ((input, init) => fetch(input, init));
    this.pageOrigin = options.pageOrigin !== undefined ? options.pageOrigin : ((globalThis as { location?: { origin?: string } }).location?.origin ?? null);
    this.progressStepBytes = options.progressStepBytes ?? DEFAULT_PROGRESS_STEP_BYTES;
  }

  /** Fetches a file that must exist. */
  async fetchRequired(url: string, label: string, handlers: RequiredFetchHandlers): Promise<Uint8Array> {
    const bytes = await this.fetchFile(url, label, handlers);
    if (bytes === null) throw handlers.notFound(url);
    return bytes;
  }

  /**
   * Fetches a file that may be missing and returns null on a 404. The cache records a missing file as
   * an empty entry, so a second load skips the request too. Only config.json uses this, and a real
   * config.json is never empty.
   */
  async fetchOptional(url: string, label: string, handlers: OptionalFetchHandlers): Promise<Uint8Array | null> {
    const bytes = await this.fetchFile(url, label, handlers);
    if (bytes === null) {
      await this.store(url, new Uint8Array(0));
      return null;
    }
    return bytes.byteLength === 0 ? null : bytes;
  }

  /** Fetches each external data location from the folder of `modelUrl` and caches it once complete. */
  async fetchExternalData(
    locations: string[],
    modelUrl: string,
    labelFor: (location: string) => string,
    handlers: FetchHandlers,
  ): Promise<ExternalDataFile[]> {
    const files: ExternalDataFile[] = [];
    for (const location of locations) {
      checkExternalLocation(location, modelUrl);
      const url = new URL(location, modelUrl).href;
      const label = labelFor(location);
      const data = await this.fetchRequired(url, label, {
        ...handlers,
        notFound: (missingUrl) =>
          new ModelSourceError(
            'missing-external-data',
            `The model ${modelUrl} keeps its weights in the external data file '${location}', but ${missingUrl} ` +
              'returned 404. Put the file next to the .onnx file, or re-export the model with the weights inside it ' +
              '(possible under 2 GB).',
            { url: missingUrl, status: 404, fileName: location, names: [location] },
          ),
      });
      await this.store(url, data);
      files.push({ path: location, data });
    }
    return files;
  }

  /** Inspects the model bytes and caches them once they pass. */
  async inspect(bytes: Uint8Array, url: string | null, label: string): Promise<OnnxInspection> {
    const inspection = inspectOnnxModel(bytes, { sourceName: label });
    if (url !== null) await this.store(url, bytes);
    return inspection;
  }

  /** Parses config.json, and caches it when `url` is given. */
  async parseConfig(bytes: Uint8Array, source: string, url: string | null): Promise<ModelConfigJson> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(bytes));
    } catch (error) {
      throw new ModelSourceError(
        'invalid-config',
        `${source} is not valid JSON (${error instanceof Error ? error.message : String(error)}). Expected the ` +
          "model's Hugging Face config.json.",
        { url: url ?? undefined, fileName: source },
        { cause: error },
      );
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ModelSourceError('invalid-config', `${source} is JSON but not an object. Expected the model's Hugging Face config.json.`, {
        url: url ?? undefined,
        fileName: source,
      });
    }
    if (url !== null) await this.store(url, bytes);
    return parsed as ModelConfigJson;
  }

  /** Reads a dropped file with progress reports, under the byte limit. */
  async readBlob(blob: Blob, name: string): Promise<Uint8Array> {
    this.checkLimit(name, blob.size, `${name} is ${formatBytes(blob.size)}`);
    const data = await this.readStream(blob.stream(), blob.size, name, null);
    this.files.push({ file: name, url: null, bytes: data.byteLength, fromCache: false });
    return data;
  }

  result(fields: Omit<FetchedModel, 'files' | 'warnings'>): FetchedModel {
    return { ...fields, files: this.files, warnings: this.warnings };
  }

  /**
   * Returns the bytes at `url` from the cache or the network, or null on a 404. The numbered steps:
   * 1. A cache hit returns at once, with one progress report.
   * 2. The request. A failure without a response becomes 'cors' or 'network'.
   * 3. The status: 404 gives null, any other error status an 'http' error.
   * 4. An HTML content type fails before the body is read.
   * 5. Content-Length is checked against maxBytes before the download.
   * 6. The body streams, with progress reports and the byte limit.
   * 7. The bytes are sniffed for an HTML page served with another content type.
   */
  private async fetchFile(url: string, label: string, handlers: FetchHandlers): Promise<Uint8Array | null> {
    this.options.signal?.throwIfAborted();

    // 1. Cache. An empty entry records a missing optional file (see fetchOptional).
    const cached = (await this.options.cache?.get(url)) ?? null;
    if (cached !== null && cached.byteLength === 0) return cached;
    if (cached !== null) {
      this.cachedUrls.add(url);
      this.checkLimit(label, cached.byteLength, `The cached ${label} is ${formatBytes(cached.byteLength)}`);
      this.loadedBytes += cached.byteLength;
      this.report({ file: label, loadedBytes: cached.byteLength, totalBytes: cached.byteLength, fromCache: true });
      this.files.push({ file: label, url, bytes: cached.byteLength, fromCache: true });
      return cached;
    }

    // 2. Request.
    let response: Response;
    try {
      response = await this.fetchFn(url, { signal: this.options.signal });
    } catch (error) {
      throw this.requestFailed(url, error);
    }

    // 3. Status.
    if (response.status === 404) {
      await discardBody(response);
      return null;
    }
    if (!response.ok) {
      await discardBody(response);
      throw handlers.http?.(response.status, url) ?? httpError(response, url);
    }

    // 4. Content type.
    const contentType = response.headers.get('content-type') ?? '';
    if (/^\s*text\/html\b/i.test(contentType)) {
      await discardBody(response);
      throw htmlError(url, `content-type ${contentType}`, handlers.htmlHint);
    }

    // 5. Declared size. A compressed body's Content-Length counts the compressed bytes, so it is neither
    //    a total for progress nor a length to check. Cross-origin responses hide Content-Encoding unless
    //    the server exposes it, and such a body is caught in step 6 when it outgrows the declared length.
    const encoded = (response.headers.get('content-encoding') ?? 'identity') !== 'identity';
    const declaredBytes = encoded ? null : parseContentLength(response.headers.get('content-length'));
    if (declaredBytes !== null) {
      try {
        this.checkLimit(label, declaredBytes, `The server reports ${formatBytes(declaredBytes)} for ${url}`);
      } catch (error) {
        await discardBody(response);
        throw error;
      }
    }

    // 6. Body.
    const data = response.body === null ? new Uint8Array(0) : await this.readStream(response.body, declaredBytes, label, url);

    // 7. Sniffing.
    if (looksLikeHtml(data)) throw htmlError(url, 'the body starts with an HTML tag', handlers.htmlHint);

    this.files.push({ file: label, url, bytes: data.byteLength, fromCache: false });
    return data;
  }

  /**
   * Reads a stream into one buffer, allocated once when the length is known. A download that ends or
   * fails before its Content-Length is 'truncated'. Another read failure is 'network' for a download
   * and 'not-found' for a dropped file.
   */
  private async readStream(stream: ReadableStream<Uint8Array>, declaredBytes: number | null, label: string, url: string | null): Promise<Uint8Array> {
    const reader = stream.getReader();
    let buffer = new Uint8Array(declaredBytes ?? INITIAL_BUFFER_BYTES);
    let totalBytes = declaredBytes;
    let received = 0;
    let reportedAt = 0;
    this.report({ file: label, loadedBytes: 0, totalBytes, fromCache: false });

    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        if (this.options.signal?.aborted) throw this.options.signal.reason;
        const cutOff = url !== null && declaredBytes !== null && received < declaredBytes;
        throw cutOff ? truncatedError(label, url, received, declaredBytes, error) : readFailedError(label, url, received, error);
      }
      if (chunk.done) break;

      const value = chunk.value;
      if (received + value.byteLength > buffer.byteLength) {
        // More bytes than declared means a compressed body, so the total is unknown until the end.
        if (declaredBytes !== null) totalBytes = null;
        const grown = new Uint8Array(Math.max(buffer.byteLength * 2, received + value.byteLength));
        grown.set(buffer.subarray(0, received));
        buffer = grown;
      }
      buffer.set(value, received);
      received += value.byteLength;

      if (this.options.maxBytes !== undefined && this.loadedBytes + received > this.options.maxBytes) {
        await reader.cancel();
        this.checkLimit(label, received, `${label} has grown to ${formatBytes(received)} while downloading`);
      }
      if (received - reportedAt >= this.progressStepBytes) {
        reportedAt = received;
        this.report({ file: label, loadedBytes: received, totalBytes, fromCache: false });
      }
    }

    if (declaredBytes !== null && received < declaredBytes) throw truncatedError(label, url, received, declaredBytes, null);
    this.loadedBytes += received;
    this.report({ file: label, loadedBytes: received, totalBytes: received, fromCache: false });
    return received === buffer.byteLength ? buffer : buffer.slice(0, received);
  }

  /** Throws 'too-large' when `fileBytes` more would take the load over maxBytes. */
  private checkLimit(label: string, fileBytes: number, sizeStatement: string): void {
    const limit = this.options.maxBytes;
    if (limit === undefined || this.loadedBytes + fileBytes <= limit) return;
    const alreadyLoaded = this.loadedBytes > 0 ? `, and ${formatBytes(this.loadedBytes)} of the model was already loaded` : '';
    throw new ModelSourceError(
      'too-large',
      `${sizeStatement}${alreadyLoaded}, over the limit of ${formatBytes(limit)}. Pick a smaller variant (model_fp16 or ` +
        'model_quantized) or a smaller model.',
      { fileName: label, actualBytes: this.loadedBytes + fileBytes, limitBytes: limit },
    );
  }

  private requestFailed(url: string, error: unknown): Error {
    if (this.options.signal?.aborted) return this.options.signal.reason as Error;
    const detail = describeFailure(error);
    if (this.isCrossOrigin(url)) {
      return new ModelSourceError(
        'cors',
        `Failed to fetch ${url}: the browser got no readable response (${detail}). The host probably does not allow ` +
          'cross-origin requests: to be read from this page, it must send Access-Control-Allow-Origin. The host may ' +
          'also be unreachable. Download the file and load it from disk instead.',
        { url },
        { cause: error },
      );
    }
    return new ModelSourceError(
      'network',
      `Failed to fetch ${url}: ${detail}. Check the address and the connection, then try again.`,
      { url },
      { cause: error },
    );
  }

  private isCrossOrigin(url: string): boolean {
    if (this.pageOrigin === null) return false;
    try {
      return new URL(url, this.pageOrigin).origin !== this.pageOrigin;
    } catch {
      return false;
    }
  }

  /** Stores an entry. A failed write only costs the next load a download, so it becomes a warning. */
  private async store(url: string, data: Uint8Array): Promise<void> {
    const cache = this.options.cache;
    if (!cache || this.cachedUrls.has(url)) return;
    try {
      await cache.put(url, data);
    } catch (error) {
      this.warnings.push(`Could not cache ${url}: ${describeFailure(error)}. The next load downloads it again.`);
    }
  }

  private report(progress: ModelLoadProgress): void {
    this.options.onProgress?.(progress);
  }
}

function parseContentLength(value: string | null): number | null {
  if (value === null || !/^\d+$/.test(value.trim())) return null;
  return Number(value);
}

/** Cancels a body that will not be read, so the connection is released. */
async function discardBody(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch (error) {
    // The error that the caller is about to throw matters more than a failed cancel.
    void error;
  }
}

function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // Node's fetch puts the socket error (ECONNREFUSED and the like) in `cause`.
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}

function httpError(response: Response, url: string): ModelSourceError {
  const statusText = response.statusText ? ` ${response.statusText}` : '';
  const advice =
    response.status === 401 || response.status === 403
      ? 'The file may be private or need a login. Download it and load it from disk.'
      : 'Try again later, or download the file and load it from disk.';
  return new ModelSourceError('http', `Failed to fetch ${url} (HTTP ${response.status}${statusText}). ${advice}`, { url, status: response.status });
}

function htmlError(url: string, evidence: string, hint: string): ModelSourceError {
  const blobHint = blobUrlHint(url);
  return new ModelSourceError(
    'html',
    `${url} returned an HTML page (${evidence}), not the file. ${blobHint ?? hint}`,
    { url },
  );
}

/** Builds the error for a body or file that failed after it opened. CORS is decided before that, so it is never the cause. */
function readFailedError(label: string, url: string | null, receivedBytes: number, cause: unknown): ModelSourceError {
  if (url === null) {
    return new ModelSourceError(
      'not-found',
      `Could not read the file ${label} after ${receivedBytes} bytes (${describeFailure(cause)}). It may have been moved ` +
        'or changed since it was selected. Select it again.',
      { fileName: label, actualBytes: receivedBytes },
      { cause },
    );
  }
  return new ModelSourceError(
    'network',
    `The download of ${url} failed after ${receivedBytes} bytes: ${describeFailure(cause)}. Check the connection, then try again.`,
    { url, fileName: label, actualBytes: receivedBytes },
    { cause },
  );
}

function truncatedError(label: string, url: string | null, receivedBytes: number, declaredBytes: number, cause: unknown): ModelSourceError {
  return new ModelSourceError(
    'truncated',
    `${url ?? label} ended after ${receivedBytes} of ${declaredBytes} bytes. The download was cut off. Try again, ` +
      'or download the file and load it from disk.',
    { url: url ?? undefined, fileName: label, actualBytes: receivedBytes },
    cause === null ? undefined : { cause },
  );
}
