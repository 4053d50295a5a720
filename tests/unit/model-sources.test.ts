import * as ort from 'onnxruntime-web';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mapModelInputs, type InputMapping } from '../../src/models/inspectOnnx';
import { fetchManifest, parseManifest, type ManifestEntry } from '../../src/models/manifest';
import {
  ModelSourceError,
  ONNX_VARIANTS,
  createCacheStorageModelCache,
  createMemoryModelCache,
  fetchModelFiles,
  hubFileUrl,
  isModelSourceError,
  parseHubId,
  type FetchModelOptions,
  type FetchedModel,
  type ModelCache,
  type ModelLoadProgress,
  type ModelRequest,
  type OnnxVariant,
} from '../../src/models/modelSources';
import { DELIVERY_PREFIXES, HUB_REPOS, buildExternalDataModel, startHubServer, type HubServer } from '../support/hubServer';

// onnx-proto is a CommonJS module, and src/models/onnxBuilder.ts explains why the default import is used.
const { onnx } = onnxProto;

let hub: HubServer;
/** Address on 127.0.0.1 where nothing listens, for connection failures. */
let closedUrl: string;

beforeAll(async () => {
  ort.env.wasm.numThreads = 1;
  hub = await startHubServer();
  const closed = await startHubServer();
  closedUrl = closed.baseUrl;
  await closed.close();
});

afterAll(async () => {
  await hub.close();
});

beforeEach(() => {
  hub.resetCounts();
});

function hubRequest(hubId: string, variant: OnnxVariant = 'model', prefix = ''): ModelRequest {
  return { kind: 'hub', hubId, variant, hubBaseUrl: `${hub.baseUrl}${prefix}` };
}

function repoPath(hubId: string, path: string, prefix = ''): string {
  return `${prefix}/${hubId}/resolve/main/${path}`;
}

function repoFile(hubId: string, path: string): Uint8Array {
  const bytes = hub.repoFile(hubId, path);
  if (bytes === undefined) throw new Error(`The hub server has no ${hubId}/${path}.`);
  return bytes;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

async function loadError(request: ModelRequest, options: FetchModelOptions = {}): Promise<ModelSourceError> {
  try {
    await fetchModelFiles(request, options);
  } catch (error) {
    if (error instanceof ModelSourceError) return error;
    throw error;
  }
  throw new Error('Expected fetchModelFiles to throw ModelSourceError, but it returned.');
}

function progressOf(events: ModelLoadProgress[], file: string): ModelLoadProgress[] {
  return events.filter((event) => event.file === file);
}

describe('fetchModelFiles from the hub', () => {
  it('loads config and model by id', async () => {
    const model = await fetchModelFiles(hubRequest(HUB_REPOS.esm2));
    expect(model.config?.model_type).toBe('esm');
    expect(sameBytes(model.modelBytes, repoFile(HUB_REPOS.esm2, 'onnx/model.onnx'))).toBe(true);
    expect(model.externalData).toEqual([]);
  });

  it('describes the source', async () => {
    const model = await fetchModelFiles(hubRequest(HUB_REPOS.esm2));
    expect({ source: model.source, modelId: model.modelId, label: model.sourceLabel, variant: model.variant }).toEqual({
      source: 'hub',
      modelId: 'test/esm2_tiny',
      label: 'test/esm2_tiny (model)',
      variant: 'model',
    });
    expect(model.modelUrl).toBe(`${hub.baseUrl}${repoPath(HUB_REPOS.esm2, 'onnx/model.onnx')}`);
  });

  it('inspects the fetched model', async () => {
    const model = await fetchModelFiles(hubRequest(HUB_REPOS.esm2));
    expect(model.inspection.inputs.map((input) => input.name)).toEqual(['input_ids', 'attention_mask']);
  });

  it('fetches config before the model', async () => {
    const model = await fetchModelFiles(hubRequest(HUB_REPOS.esm2));
    expect(model.files.map((file) => file.file)).toEqual(['config.json', 'onnx/model.onnx']);
    expect(hub.requestCount(repoPath(HUB_REPOS.esm2, 'config.json'))).toBe(1);
    expect(hub.requestCount(repoPath(HUB_REPOS.esm2, 'onnx/model.onnx'))).toBe(1);
  });

  it('fetches the chosen variant', async () => {
    const model = await fetchModelFiles(hubRequest(HUB_REPOS.esm2, 'model_fp16'));
    expect(sameBytes(model.modelBytes, repoFile(HUB_REPOS.esm2, 'onnx/model_fp16.onnx'))).toBe(true);
    expect(model.inspection.outputs[0].elemType).toBe('float16');
    expect(hub.requestCount(repoPath(HUB_REPOS.esm2, 'onnx/model.onnx'))).toBe(0);
  });

  it('fetches external data next to the model', async () => {
    const model = await fetchModelFiles(hubRequest(HUB_REPOS.external));
    expect(model.externalData.map((file) => file.path)).toEqual(['model.onnx_data']);
    expect(sameBytes(model.externalData[0].data, repoFile(HUB_REPOS.external, 'onnx/model.onnx_data'))).toBe(true);
    expect(model.files.map((file) => file.file)).toEqual(['config.json', 'onnx/model.onnx', 'onnx/model.onnx_data']);
  });

  it('returns a null config without config.json', async () => {
    const model = await fetchModelFiles(hubRequest(HUB_REPOS.noConfig));
    expect(model.config).toBeNull();
    expect(model.files.map((file) => file.file)).toEqual(['onnx/model.onnx']);
  });

  it('loads the dnabert config', async () => {
    const model = await fetchModelFiles(hubRequest(HUB_REPOS.dnabert));
    expect(model.config).toMatchObject({ model_type: 'bert', alibi_starting_size: 512 });
  });

  it('loads without Content-Length', async () => {
    const model = await fetchModelFiles(hubRequest(HUB_REPOS.esm2, 'model', DELIVERY_PREFIXES.chunked));
    expect(sameBytes(model.modelBytes, repoFile(HUB_REPOS.esm2, 'onnx/model.onnx'))).toBe(true);
  });
});

describe('hub ids', () => {
  it.each(['Xenova/esm2_t6_8M_UR50D', 'zhihan1996/DNABERT-S', 'a/b', 'owner_1/name.v2'])('parseHubId accepts %s', (hubId) => {
    expect(parseHubId(hubId)).toBe(hubId);
  });

  it('parseHubId trims spaces', () => {
    expect(parseHubId('  Xenova/esm2_t6_8M_UR50D \n')).toBe('Xenova/esm2_t6_8M_UR50D');
  });

  it.each(['esm2_t6_8M_UR50D', 'owner/name/extra', '/name', 'owner/', 'own er/name', 'owner/..', 'owner/a..b', 'owner/-name', 'owner/name-', 'owner/a--b', `owner/${'n'.repeat(97)}`])(
    'parseHubId rejects %s',
    (hubId) => {
      const error = (() => {
        try {
          parseHubId(hubId);
        } catch (caught) {
          return caught as ModelSourceError;
        }
        throw new Error('parseHubId accepted an invalid id.');
      })();
      expect(error.code).toBe('invalid-id');
      expect(error.message).toContain(`Invalid hub id '${hubId}': expected owner/name, such as 'Xenova/esm2_t6_8M_UR50D'`);
    },
  );

  it('parseHubId suggests the id in a pasted URL', () => {
    expect(() => parseHubId('https://huggingface.co/Xenova/esm2_t6_8M_UR50D')).toThrow(
      "To load that repository, enter its id 'Xenova/esm2_t6_8M_UR50D' instead of the URL.",
    );
  });

  it('hubFileUrl builds the resolve address', () => {
    expect(hubFileUrl('owner/name', 'onnx/model.onnx', 'http://127.0.0.1:9/', 'v1.0')).toBe('http://127.0.0.1:9/owner/name/resolve/v1.0/onnx/model.onnx');
  });

  it('hubFileUrl defaults to the public hub', () => {
    expect(hubFileUrl('owner/name', 'config.json')).toBe('https://huggingface.co/owner/name/resolve/main/config.json');
  });

  it('fetchModelFiles rejects an invalid id before any request', async () => {
    const error = await loadError(hubRequest('not an id'));
    expect(error.code).toBe('invalid-id');
    expect(hub.totalRequests()).toBe(0);
  });

  it('fetchModelFiles rejects an unknown variant', async () => {
    const error = await loadError({ kind: 'hub', hubId: HUB_REPOS.esm2, variant: 'model_int4' as never, hubBaseUrl: hub.baseUrl });
    expect(error.code).toBe('invalid-request');
    expect(error.message).toBe(`Unknown ONNX variant 'model_int4'. Valid variants: ${ONNX_VARIANTS.join(', ')}.`);
  });
});

describe('progress', () => {
  it('reports rising progress that ends at the total', async () => {
    const events: ModelLoadProgress[] = [];
    await fetchModelFiles(hubRequest(HUB_REPOS.esm2), { onProgress: (event) => events.push(event), progressStepBytes: 4096 });
    const modelEvents = progressOf(events, 'onnx/model.onnx');
    const totalBytes = repoFile(HUB_REPOS.esm2, 'onnx/model.onnx').byteLength;

    expect(modelEvents.length).toBeGreaterThan(3);
    expect(modelEvents[0]).toEqual({ file: 'onnx/model.onnx', loadedBytes: 0, totalBytes, fromCache: false });
    expect(modelEvents.every((event, index) => index === 0 || event.loadedBytes >= modelEvents[index - 1].loadedBytes)).toBe(true);
    expect(modelEvents.every((event) => event.totalBytes === totalBytes)).toBe(true);
    expect(modelEvents[modelEvents.length - 1].loadedBytes).toBe(totalBytes);
  });

  it('reports a null total without Content-Length', async () => {
    const events: ModelLoadProgress[] = [];
    await fetchModelFiles(hubRequest(HUB_REPOS.esm2, 'model', DELIVERY_PREFIXES.chunked), { onProgress: (event) => events.push(event), progressStepBytes: 4096 });
    const modelEvents = progressOf(events, 'onnx/model.onnx');
    const totalBytes = repoFile(HUB_REPOS.esm2, 'onnx/model.onnx').byteLength;

    expect(modelEvents.slice(0, -1).every((event) => event.totalBytes === null)).toBe(true);
    expect(modelEvents[modelEvents.length - 1]).toEqual({ file: 'onnx/model.onnx', loadedBytes: totalBytes, totalBytes, fromCache: false });
  });

  it('reports a null total for a compressed body', async () => {
    const events: ModelLoadProgress[] = [];
    const model = await fetchModelFiles(hubRequest(HUB_REPOS.esm2, 'model', DELIVERY_PREFIXES.gzip), { onProgress: (event) => events.push(event) });
    const totalBytes = repoFile(HUB_REPOS.esm2, 'onnx/model.onnx').byteLength;

    expect(sameBytes(model.modelBytes, repoFile(HUB_REPOS.esm2, 'onnx/model.onnx'))).toBe(true);
    expect(progressOf(events, 'onnx/model.onnx')).toEqual([
      { file: 'onnx/model.onnx', loadedBytes: 0, totalBytes: null, fromCache: false },
      { file: 'onnx/model.onnx', loadedBytes: totalBytes, totalBytes, fromCache: false },
    ]);
  });

  it('reports one event per file at the default step', async () => {
    const events: ModelLoadProgress[] = [];
    await fetchModelFiles(hubRequest(HUB_REPOS.esm2), { onProgress: (event) => events.push(event) });
    // 148 kB is below the 1 MiB step, so only the first and last reports remain.
    expect(progressOf(events, 'onnx/model.onnx').map((event) => event.loadedBytes)).toEqual([0, repoFile(HUB_REPOS.esm2, 'onnx/model.onnx').byteLength]);
  });

  it('reports cached files once', async () => {
    const cache = createMemoryModelCache();
    await fetchModelFiles(hubRequest(HUB_REPOS.esm2), { cache });
    const events: ModelLoadProgress[] = [];
    await fetchModelFiles(hubRequest(HUB_REPOS.esm2), { cache, onProgress: (event) => events.push(event) });
    const totalBytes = repoFile(HUB_REPOS.esm2, 'onnx/model.onnx').byteLength;
    expect(progressOf(events, 'onnx/model.onnx')).toEqual([{ file: 'onnx/model.onnx', loadedBytes: totalBytes, totalBytes, fromCache: true }]);
  });
});

describe('caching', () => {
  it('makes no request on a second load', async () => {
    const cache = createMemoryModelCache();
    const first = await fetchModelFiles(hubRequest(HUB_REPOS.external), { cache });
    hub.resetCounts();

    const second = await fetchModelFiles(hubRequest(HUB_REPOS.external), { cache });
    expect(hub.totalRequests()).toBe(0);
    expect(second.files.every((file) => file.fromCache)).toBe(true);
    expect(sameBytes(second.modelBytes, first.modelBytes)).toBe(true);
    expect(sameBytes(second.externalData[0].data, first.externalData[0].data)).toBe(true);
    expect(second.config).toEqual(first.config);
  });

  it('writes nothing back on a cache hit', async () => {
    const memory = createMemoryModelCache();
    const writtenUrls: string[] = [];
    const put: ModelCache['put'] = async (url, data) => {
      writtenUrls.push(url);
      await memory.put(url, data);
    };
    const cache: ModelCache = { ...memory, put };
    await fetchModelFiles(hubRequest(HUB_REPOS.external), { cache });
    expect(writtenUrls).toHaveLength(3);

    await fetchModelFiles(hubRequest(HUB_REPOS.external), { cache });
    expect(writtenUrls).toHaveLength(3);
  });

  it('remembers a missing config.json', async () => {
    const cache = createMemoryModelCache();
    await fetchModelFiles(hubRequest(HUB_REPOS.noConfig), { cache });
    hub.resetCounts();

    const second = await fetchModelFiles(hubRequest(HUB_REPOS.noConfig), { cache });
    expect(hub.totalRequests()).toBe(0);
    expect(second.config).toBeNull();
  });

  it('fetches another variant despite the cache', async () => {
    const cache = createMemoryModelCache();
    await fetchModelFiles(hubRequest(HUB_REPOS.esm2), { cache });
    hub.resetCounts();

    await fetchModelFiles(hubRequest(HUB_REPOS.esm2, 'model_fp16'), { cache });
    expect(hub.requestCount(repoPath(HUB_REPOS.esm2, 'onnx/model_fp16.onnx'))).toBe(1);
    expect(hub.requestCount(repoPath(HUB_REPOS.esm2, 'config.json'))).toBe(0);
  });

  it('stores nothing from a failed download', async () => {
    const cache = createMemoryModelCache();
    await loadError({ kind: 'url', url: `${hub.baseUrl}${repoPath(HUB_REPOS.esm2, 'onnx/model.onnx', DELIVERY_PREFIXES.cutBody)}` }, { cache });
    expect(await cache.sizeBytes()).toBe(0);
  });

  it('stores no model that fails inspection', async () => {
    const cache = createMemoryModelCache();
    await loadError(hubRequest(HUB_REPOS.notOnnx), { cache });
    expect(await cache.sizeBytes()).toBe(0);
  });

  it('turns a failed cache write into a warning', async () => {
    const failing: ModelCache = { ...createMemoryModelCache(), put: async () => Promise.reject(new Error('QuotaExceededError')) };
    const model = await fetchModelFiles(hubRequest(HUB_REPOS.esm2), { cache: failing });
    expect(model.warnings).toContain(
      `Could not cache ${hub.baseUrl}${repoPath(HUB_REPOS.esm2, 'onnx/model.onnx')}: QuotaExceededError. The next load downloads it again.`,
    );
  });

  it('never caches dropped files', async () => {
    const cache = createMemoryModelCache();
    const blob = new Blob([repoFile(HUB_REPOS.esm2, 'onnx/model.onnx') as Uint8Array<ArrayBuffer>]);
    await fetchModelFiles({ kind: 'file', files: [{ name: 'model.onnx', blob }] }, { cache });
    expect(await cache.sizeBytes()).toBe(0);
  });
});

/** Creates a Cache Storage stand-in over Node's Response, with the methods that the model cache calls. */
function fakeCacheStorage(): CacheStorage {
  const caches = new Map<string, Map<string, Response>>();
  const open = async (name: string): Promise<Cache> => {
    const entries = caches.get(name) ?? new Map<string, Response>();
    caches.set(name, entries);
    const key = (request: RequestInfo | URL): string => (request instanceof Request ? request.url : String(request));
    const cache = {
      match: async (request: RequestInfo | URL) => entries.get(key(request))?.clone(),
      put: async (request: RequestInfo | URL, response: Response) => {
        entries.set(key(request), response);
      },
      keys: async () => [...entries.keys()].map((url) => new Request(url)),
    };
    return cache as unknown as Cache;
  };
  return { open, delete: async (name: string) => caches.delete(name) } as unknown as CacheStorage;
}

describe('createCacheStorageModelCache', () => {
  it('stores and returns bytes by URL', async () => {
    const cache = createCacheStorageModelCache('test-models', fakeCacheStorage());
    await cache.put('http://127.0.0.1:1/model.onnx', Uint8Array.from([1, 2, 3]));
    expect(Array.from((await cache.get('http://127.0.0.1:1/model.onnx')) ?? [])).toEqual([1, 2, 3]);
  });

  it('returns null for a missing URL', async () => {
    const cache = createCacheStorageModelCache('test-models', fakeCacheStorage());
    expect(await cache.get('http://127.0.0.1:1/other.onnx')).toBeNull();
  });

  it('stores only the bytes of a view', async () => {
    const cache = createCacheStorageModelCache('test-models', fakeCacheStorage());
    await cache.put('http://127.0.0.1:1/part', Uint8Array.from([9, 8, 7, 6]).subarray(1, 3));
    expect(Array.from((await cache.get('http://127.0.0.1:1/part')) ?? [])).toEqual([8, 7]);
  });

  it('sums entry sizes', async () => {
    const cache = createCacheStorageModelCache('test-models', fakeCacheStorage());
    await cache.put('http://127.0.0.1:1/a', new Uint8Array(10));
    await cache.put('http://127.0.0.1:1/b', new Uint8Array(32));
    expect(await cache.sizeBytes()).toBe(42);
  });

  it('clears every entry', async () => {
    const cache = createCacheStorageModelCache('test-models', fakeCacheStorage());
    await cache.put('http://127.0.0.1:1/a', new Uint8Array(10));
    await cache.clear();
    expect(await cache.sizeBytes()).toBe(0);
  });

  it('serves a second hub load', async () => {
    const cache = createCacheStorageModelCache('test-models', fakeCacheStorage());
    await fetchModelFiles(hubRequest(HUB_REPOS.esm2), { cache });
    hub.resetCounts();
    await fetchModelFiles(hubRequest(HUB_REPOS.esm2), { cache });
    expect(hub.totalRequests()).toBe(0);
  });

  it('throws without Cache Storage', () => {
    // Node 20 has no global `caches`.
    expect(() => createCacheStorageModelCache()).toThrow('Cache Storage is not available here: it needs a secure context');
  });
});

describe('fetchModelFiles errors', () => {
  const modelUrl = (hubId: string, prefix = '', path = 'onnx/model.onnx'): string => `${hub.baseUrl}${repoPath(hubId, path, prefix)}`;

  it('reports a missing variant with the usual ones', async () => {
    const error = await loadError(hubRequest(HUB_REPOS.esm2, 'model_quantized'));
    expect(error.code).toBe('not-found');
    expect(error.message).toBe(
      `Not found: ${modelUrl(HUB_REPOS.esm2, '', 'onnx/model_quantized.onnx')} (HTTP 404). Check that the repository 'test/esm2_tiny' exists ` +
        'and has onnx/model_quantized.onnx. Repositories in the transformers.js layout usually have onnx/model.onnx, ' +
        "onnx/model_fp16.onnx, onnx/model_quantized.onnx. Pick a variant that the repository's onnx folder lists.",
    );
    expect(error.details).toMatchObject({ status: 404, hubId: 'test/esm2_tiny', fileName: 'onnx/model_quantized.onnx' });
  });

  it('reports a missing repository', async () => {
    const error = await loadError(hubRequest('nobody/missing'));
    expect(error.code).toBe('not-found');
    expect(error.message).toMatch(/^Not found: .*\/nobody\/missing\/resolve\/main\/onnx\/model\.onnx \(HTTP 404\)\. Check that the repository 'nobody\/missing' exists/);
  });

  it('explains a 401 from the hub', async () => {
    const error = await loadError(hubRequest(HUB_REPOS.esm2, 'model', DELIVERY_PREFIXES.gated));
    expect(error.code).toBe('http');
    expect(error.message).toBe(
      `Failed to fetch ${hub.baseUrl}/gated/test/esm2_tiny/resolve/main/config.json (HTTP 401). The hub returns 401 for a ` +
        "repository that does not exist and for a private or gated one. Check the id 'test/esm2_tiny'. For a gated model, " +
        'accept its terms on the hub, download the files and load them from disk.',
    );
  });

  it('rejects an HTML content type', async () => {
    const url = `${hub.baseUrl}/html/some/model.onnx`;
    const error = await loadError({ kind: 'url', url });
    expect(error.code).toBe('html');
    expect(error.message).toMatch(new RegExp(`^${url} returned an HTML page \\(content-type text/html; charset=utf-8\\), not the file\\. The path may be wrong`));
  });

  it('suggests the resolve URL for a blob URL', async () => {
    const url = modelUrl(HUB_REPOS.esm2).replace('/resolve/', '/blob/');
    const error = await loadError({ kind: 'url', url });
    expect(error.code).toBe('html');
    expect(error.message).toContain(`Use the file address: ${modelUrl(HUB_REPOS.esm2)}`);
  });

  it('sniffs an HTML body of another type', async () => {
    const error = await loadError({ kind: 'url', url: `${hub.baseUrl}/html-bytes/some/model.onnx` });
    expect(error.code).toBe('html');
    expect(error.message).toContain('returned an HTML page (the body starts with an HTML tag)');
  });

  it('rejects an HTML page in place of a hub config', async () => {
    const error = await loadError(hubRequest(HUB_REPOS.esm2, 'model', DELIVERY_PREFIXES.html));
    expect(error.code).toBe('html');
    expect(error.details.url).toBe(`${hub.baseUrl}/html/test/esm2_tiny/resolve/main/config.json`);
  });

  it('rejects a Git LFS pointer', async () => {
    const error = await loadError({ kind: 'url', url: modelUrl(HUB_REPOS.esm2, DELIVERY_PREFIXES.lfsPointer) });
    expect(error.code).toBe('not-onnx');
    expect(error.message).toContain('is a Git LFS pointer file, not the model');
  });

  it('reports a body shorter than Content-Length', async () => {
    const url = modelUrl(HUB_REPOS.esm2, DELIVERY_PREFIXES.cutBody);
    const totalBytes = repoFile(HUB_REPOS.esm2, 'onnx/model.onnx').byteLength;
    const error = await loadError({ kind: 'url', url });
    expect(error.code).toBe('truncated');
    expect(error.message).toMatch(new RegExp(`^${url} ended after \\d+ of ${totalBytes} bytes\\. The download was cut off\\. Try again`));
  });

  it('reports a download that fails midway', async () => {
    const url = modelUrl(HUB_REPOS.esm2, DELIVERY_PREFIXES.cutChunked);
    const error = await loadError({ kind: 'url', url });
    expect(error.code).toBe('network');
    expect(error.message).toMatch(new RegExp(`^The download of ${url} failed after \\d+ bytes: .*\\. Check the connection, then try again\\.$`));
  });

  it('reports a file that cannot be read', async () => {
    const failing = {
      size: 100,
      stream: () => new ReadableStream<Uint8Array>({ pull: (controller) => controller.error(new Error('The file could not be read.')) }),
    } as unknown as Blob;
    const error = await loadError({ kind: 'file', files: [{ name: 'model.onnx', blob: failing }] });
    expect(error.code).toBe('not-found');
    expect(error.message).toBe(
      'Could not read the file model.onnx after 0 bytes (The file could not be read.). It may have been moved or changed since it was selected. Select it again.',
    );
  });

  it('reports a model that stops mid-field', async () => {
    const error = await loadError({ kind: 'url', url: modelUrl(HUB_REPOS.esm2, DELIVERY_PREFIXES.shortBody) });
    expect(error.code).toBe('truncated');
    expect(error.message).toContain('ends early: it starts like an ONNX model');
  });

  it('rejects bytes that are not ONNX', async () => {
    const error = await loadError(hubRequest(HUB_REPOS.notOnnx));
    expect(error.code).toBe('not-onnx');
    expect(error.message).toMatch(/^onnx\/model\.onnx is not an ONNX model: the protobuf decoder failed/);
  });

  it('rejects a config.json that is not JSON', async () => {
    const error = await loadError(hubRequest(HUB_REPOS.badConfig));
    expect(error.code).toBe('invalid-config');
    expect(error.message).toMatch(/config\.json is not valid JSON \(.*\)\. Expected the model's Hugging Face config\.json\.$/);
  });

  it('rejects a model over maxBytes before the download', async () => {
    const totalBytes = repoFile(HUB_REPOS.noConfig, 'onnx/model.onnx').byteLength;
    const error = await loadError(hubRequest(HUB_REPOS.noConfig), { maxBytes: 10_000 });
    expect(error.code).toBe('too-large');
    expect(error.message).toBe(
      `The server reports ${(totalBytes / 1000).toFixed(2)} kB for ${modelUrl(HUB_REPOS.noConfig)}, over the limit of 10.00 kB. ` +
        'Pick a smaller variant (model_fp16 or model_quantized) or a smaller model.',
    );
    expect(error.details).toMatchObject({ actualBytes: totalBytes, limitBytes: 10_000 });
  });

  it('stops a download without Content-Length at maxBytes', async () => {
    const error = await loadError(hubRequest(HUB_REPOS.noConfig, 'model', DELIVERY_PREFIXES.chunked), { maxBytes: 40_000 });
    expect(error.code).toBe('too-large');
    expect(error.message).toMatch(/^onnx\/model\.onnx has grown to .* while downloading, over the limit of 40\.00 kB\./);
  });

  it('counts external data towards maxBytes', async () => {
    const modelBytes = repoFile(HUB_REPOS.missingExternal, 'onnx/model.onnx').byteLength;
    const error = await loadError(hubRequest(HUB_REPOS.external), { maxBytes: modelBytes + 2000 });
    expect(error.code).toBe('too-large');
    expect(error.message).toMatch(/of the model was already loaded, over the limit/);
  });

  it('reports missing external data', async () => {
    const error = await loadError(hubRequest(HUB_REPOS.missingExternal));
    expect(error.code).toBe('missing-external-data');
    expect(error.message).toBe(
      `The model ${modelUrl(HUB_REPOS.missingExternal)} keeps its weights in the external data file 'model.onnx_data', but ` +
        `${modelUrl(HUB_REPOS.missingExternal, '', 'onnx/model.onnx_data')} returned 404. Put the file next to the .onnx file, ` +
        'or re-export the model with the weights inside it (possible under 2 GB).',
    );
  });

  it('reports a cross-origin failure as CORS', async () => {
    const refusingFetch: typeof fetch = async () => {
      throw new TypeError('Failed to fetch');
    };
    const error = await loadError(hubRequest(HUB_REPOS.esm2), { fetch: refusingFetch, pageOrigin: 'http://localhost:4319' });
    expect(error.code).toBe('cors');
    expect(error.message).toBe(
      `Failed to fetch ${modelUrl(HUB_REPOS.esm2, '', 'config.json')}: the browser got no readable response (Failed to fetch). ` +
        'The host probably does not allow cross-origin requests: to be read from this page, it must send ' +
        'Access-Control-Allow-Origin. The host may also be unreachable. Download the file and load it from disk instead.',
    );
  });

  it('reports a same-origin failure as network', async () => {
    const refusingFetch: typeof fetch = async () => {
      throw new TypeError('Failed to fetch');
    };
    const error = await loadError(hubRequest(HUB_REPOS.esm2), { fetch: refusingFetch, pageOrigin: hub.baseUrl });
    expect(error.code).toBe('network');
  });

  it('reports a refused connection', async () => {
    const error = await loadError({ kind: 'url', url: `${closedUrl}/model.onnx` });
    expect(error.code).toBe('network');
    expect(error.message).toMatch(new RegExp(`^Failed to fetch ${closedUrl}/model.onnx: fetch failed: .*ECONNREFUSED.*\\. Check the address and the connection`));
  });

  it('rejects with the abort reason', async () => {
    const controller = new AbortController();
    controller.abort(new Error('Cancelled by the user.'));
    await expect(fetchModelFiles(hubRequest(HUB_REPOS.esm2), { signal: controller.signal })).rejects.toThrow('Cancelled by the user.');
  });

  it('rejects a URL that is not http', async () => {
    const error = await loadError({ kind: 'url', url: 'ftp://127.0.0.1/model.onnx' });
    expect(error.code).toBe('invalid-request');
    expect(error.message).toBe("Invalid model URL 'ftp://127.0.0.1/model.onnx': only http and https URLs can be fetched.");
  });

  it('is recognised after a worker boundary', () => {
    const transported = Object.assign(new Error('message'), { name: 'ModelSourceError', details: { code: 'cors' } });
    expect(isModelSourceError(transported)).toBe(true);
  });
});

describe('fetchModelFiles from a URL', () => {
  it('fetches external data relative to the model URL', async () => {
    const url = `${hub.baseUrl}${repoPath(HUB_REPOS.external, 'onnx/model.onnx')}`;
    const model = await fetchModelFiles({ kind: 'url', url });
    expect(model.externalData.map((file) => file.path)).toEqual(['model.onnx_data']);
    expect(model.files.map((file) => file.url)).toEqual([url, url.replace(/model\.onnx$/, 'model.onnx_data')]);
  });

  it('names the model after the file', async () => {
    const model = await fetchModelFiles({ kind: 'url', url: `${hub.baseUrl}${repoPath(HUB_REPOS.esm2, 'onnx/model_fp16.onnx')}` });
    expect({ source: model.source, modelId: model.modelId, config: model.config }).toEqual({ source: 'url', modelId: 'model_fp16.onnx', config: null });
  });
});

describe('fetchModelFiles from the manifest', () => {
  const entry = (fields: Partial<ManifestEntry>): ManifestEntry =>
    parseManifest({ models: [{ id: 'esm2-external', label: 'ESM-2 tiny, external data', path: 'onnx/model.onnx', ...fields }] }).models[0];
  const folder = (hubId: string): string => `${hub.baseUrl}/${hubId}/resolve/main/`;

  it('loads the entry with config and external data', async () => {
    const model = await fetchModelFiles({
      kind: 'manifest',
      entry: entry({ config: 'config.json', externalData: ['model.onnx_data'] }),
      baseUrl: folder(HUB_REPOS.external),
    });
    expect({ source: model.source, modelId: model.modelId, label: model.sourceLabel }).toEqual({
      source: 'manifest',
      modelId: 'esm2-external',
      label: 'ESM-2 tiny, external data',
    });
    expect(model.config?.model_type).toBe('esm');
    expect(model.files.map((file) => file.file)).toEqual(['config.json', 'onnx/model.onnx', 'onnx/model.onnx_data']);
    expect(model.warnings).toEqual([]);
  });

  it('resolves paths against a base without a slash', async () => {
    const model = await fetchModelFiles({ kind: 'manifest', entry: entry({}), baseUrl: folder(HUB_REPOS.esm2).replace(/\/$/, '') });
    expect(sameBytes(model.modelBytes, repoFile(HUB_REPOS.esm2, 'onnx/model.onnx'))).toBe(true);
  });

  it('names the entry of a missing file', async () => {
    const error = await loadError({ kind: 'manifest', entry: entry({ path: 'onnx/missing.onnx' }), baseUrl: folder(HUB_REPOS.esm2) });
    expect(error.code).toBe('not-found');
    expect(error.message).toBe(
      `Not found: ${folder(HUB_REPOS.esm2)}onnx/missing.onnx (HTTP 404). The manifest entry 'esm2-external' lists ` +
        'onnx/missing.onnx: copy the file into public/models, or fix the path in manifest.json.',
    );
  });

  it('warns about listed files that the model does not use', async () => {
    const model = await fetchModelFiles({ kind: 'manifest', entry: entry({ externalData: ['weights.bin'] }), baseUrl: folder(HUB_REPOS.esm2) });
    expect(model.warnings).toEqual([
      "manifest.json lists the external data file 'weights.bin' for 'esm2-external', but the model does not reference it.",
    ]);
  });

  it('caches manifest models too', async () => {
    const cache = createMemoryModelCache();
    const request: ModelRequest = { kind: 'manifest', entry: entry({ config: 'config.json' }), baseUrl: folder(HUB_REPOS.external) };
    await fetchModelFiles(request, { cache });
    hub.resetCounts();
    await fetchModelFiles(request, { cache });
    expect(hub.totalRequests()).toBe(0);
  });
});

describe('fetchModelFiles from files', () => {
  const fileOf = (name: string, bytes: Uint8Array): { name: string; blob: Blob } => ({ name, blob: new Blob([bytes as Uint8Array<ArrayBuffer>]) });
  const external = buildExternalDataModel();

  it('loads a model with its external data and config', async () => {
    const model = await fetchModelFiles({
      kind: 'file',
      files: [
        fileOf('model.onnx_data', external.data),
        fileOf('config.json', repoFile(HUB_REPOS.esm2, 'config.json')),
        fileOf('model.onnx', external.modelBytes),
      ],
    });
    expect(model.externalData.map((file) => [file.path, file.data.byteLength])).toEqual([['model.onnx_data', external.data.byteLength]]);
    expect(model.config?.model_type).toBe('esm');
    expect({ source: model.source, modelId: model.modelId, modelUrl: model.modelUrl }).toEqual({ source: 'file', modelId: 'model.onnx', modelUrl: null });
  });

  it('reports progress from the file size', async () => {
    const events: ModelLoadProgress[] = [];
    await fetchModelFiles({ kind: 'file', files: [fileOf('model.onnx', external.modelBytes), fileOf('model.onnx_data', external.data)] }, { onProgress: (event) => events.push(event) });
    expect(progressOf(events, 'model.onnx_data')).toEqual([
      { file: 'model.onnx_data', loadedBytes: 0, totalBytes: external.data.byteLength, fromCache: false },
      { file: 'model.onnx_data', loadedBytes: external.data.byteLength, totalBytes: external.data.byteLength, fromCache: false },
    ]);
  });

  it('matches a location in a folder by file name', async () => {
    const model = onnx.ModelProto.decode(external.modelBytes);
    for (const tensor of model.graph?.initializer ?? []) {
      for (const entry of tensor.externalData ?? []) if (entry.key === 'location') entry.value = 'weights/model.onnx_data';
    }
    const loaded = await fetchModelFiles({ kind: 'file', files: [fileOf('model.onnx', onnx.ModelProto.encode(model).finish()), fileOf('model.onnx_data', external.data)] });
    expect(loaded.externalData.map((file) => file.path)).toEqual(['weights/model.onnx_data']);
  });

  it('reports missing external data by name', async () => {
    const error = await loadError({ kind: 'file', files: [fileOf('esm2.onnx', external.modelBytes)] });
    expect(error.code).toBe('missing-external-data');
    expect(error.message).toBe(
      'esm2.onnx keeps its weights in external data files that were not selected: model.onnx_data. Select esm2.onnx ' +
        'together with that file (in the same file dialog or drop).',
    );
    expect(error.details.names).toEqual(['model.onnx_data']);
  });

  it('rejects a location outside the folder', async () => {
    const model = onnx.ModelProto.decode(external.modelBytes);
    for (const tensor of model.graph?.initializer ?? []) {
      for (const entry of tensor.externalData ?? []) if (entry.key === 'location') entry.value = '../secret.bin';
    }
    const error = await loadError({ kind: 'file', files: [fileOf('model.onnx', onnx.ModelProto.encode(model).finish())] });
    expect(error.code).toBe('invalid-external-data');
    expect(error.message).toMatch(/^model\.onnx references external data at '\.\.\/secret\.bin', which is not a relative path inside the model's folder\./);
  });

  it('rejects a URL location fetched from a server', async () => {
    const model = onnx.ModelProto.decode(external.modelBytes);
    for (const tensor of model.graph?.initializer ?? []) {
      for (const entry of tensor.externalData ?? []) if (entry.key === 'location') entry.value = 'https://example.com/weights.bin';
    }
    const bytes = onnx.ModelProto.encode(model).finish();
    const servingFetch: typeof fetch = async () => new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-length': String(bytes.byteLength) } });
    const error = await loadError({ kind: 'url', url: 'http://127.0.0.1:1/model.onnx' }, { fetch: servingFetch });
    expect(error.code).toBe('invalid-external-data');
  });

  it('rejects a selection without .onnx', async () => {
    const error = await loadError({ kind: 'file', files: [fileOf('model.onnx_data', external.data)] });
    expect(error.code).toBe('not-onnx');
    expect(error.message).toBe(
      'Select one .onnx model file, with its external data files if it has any: of the selected files (model.onnx_data), none of them is an .onnx file.',
    );
  });

  it('rejects two .onnx files', async () => {
    const error = await loadError({ kind: 'file', files: [fileOf('a.onnx', external.modelBytes), fileOf('b.onnx', external.modelBytes)] });
    expect(error.code).toBe('invalid-request');
    expect(error.message).toContain('(a.onnx, b.onnx), 2 of them are .onnx files.');
  });

  it('rejects a file over maxBytes before reading', async () => {
    const error = await loadError({ kind: 'file', files: [fileOf('model.onnx', external.modelBytes)] }, { maxBytes: 100 });
    expect(error.code).toBe('too-large');
    expect(error.message).toMatch(/^model\.onnx is .* over the limit of 100 B\./);
  });

  it('warns about unused files', async () => {
    const model = await fetchModelFiles({ kind: 'file', files: [fileOf('model.onnx', repoFile(HUB_REPOS.esm2, 'onnx/model.onnx')), fileOf('notes.txt', new Uint8Array(3))] });
    expect(model.warnings).toEqual(['Ignored files that the model does not reference: notes.txt.']);
  });
});

/** Fills the mapped inputs for `rows` token rows padded to `length`, in the mapped integer types. */
function feedsFor(mapping: InputMapping, batch: number, length: number): Record<string, ort.Tensor> {
  const dims = [batch, length];
  const tensor = (elemType: 'int64' | 'int32', fill: (index: number) => number): ort.Tensor =>
    elemType === 'int64'
      ? new ort.Tensor('int64', BigInt64Array.from({ length: batch * length }, (_, index) => BigInt(fill(index))), dims)
      : new ort.Tensor('int32', Int32Array.from({ length: batch * length }, (_, index) => fill(index)), dims);

  const feeds: Record<string, ort.Tensor> = { [mapping.inputIds.name]: tensor(mapping.inputIds.elemType, (index) => 4 + (index % 3)) };
  if (mapping.attentionMask) feeds[mapping.attentionMask.name] = tensor(mapping.attentionMask.elemType, () => 1);
  if (mapping.tokenTypeIds) feeds[mapping.tokenTypeIds.name] = tensor(mapping.tokenTypeIds.elemType, () => 0);
  return feeds;
}

async function runFetched(model: FetchedModel, batch: number, length: number): Promise<ort.Tensor> {
  const mapping = mapModelInputs(model.inspection);
  const session = await ort.InferenceSession.create(model.modelBytes, {
    executionProviders: ['wasm'],
    externalData: model.externalData.length > 0 ? model.externalData : undefined,
  });
  try {
    const outputs = await session.run(feedsFor(mapping, batch, length));
    return outputs[mapping.output.name];
  } finally {
    await session.release();
  }
}

describe('onnxruntime-web sessions from served files', () => {
  it.each([
    [HUB_REPOS.esm2, 'model', 32],
    [HUB_REPOS.dnabert, 'model', 48],
    [HUB_REPOS.external, 'model', 32],
    [HUB_REPOS.int32Reordered, 'model', 4],
  ] as const)('%s (%s) runs on wasm', async (hubId, variant, hidden) => {
    const model = await fetchModelFiles(hubRequest(hubId, variant));
    const output = await runFetched(model, 2, 7);
    expect(output.dims).toEqual([2, 7, hidden]);
    expect(Array.from(output.data as Float32Array).every(Number.isFinite)).toBe(true);
  });

  it('the fp16 variant runs on wasm', async () => {
    const model = await fetchModelFiles(hubRequest(HUB_REPOS.esm2, 'model_fp16'));
    const output = await runFetched(model, 2, 7);
    expect({ type: output.type, dims: output.dims }).toEqual({ type: 'float16', dims: [2, 7, 32] });
  });
});

describe('parseManifest', () => {
  const valid = { id: 'esm2_t6_8M_export', label: 'ESM-2 8M (my export)', path: 'esm2_t6_8M/onnx/model.onnx' };

  it('accepts a full entry', () => {
    const entry = { ...valid, variant: 'model_fp16', externalData: ['model.onnx_data'], config: 'esm2_t6_8M/config.json', family: 'esm2' };
    expect(parseManifest({ models: [entry] })).toEqual({ models: [entry] });
  });

  it('accepts the shipped manifest', async () => {
    const { readFile } = await import('node:fs/promises');
    const shipped: unknown = JSON.parse(await readFile(new URL('../../public/models/manifest.json', import.meta.url), 'utf8'));
    expect(parseManifest(shipped)).toEqual({ models: [] });
  });

  it('drops unknown keys', () => {
    expect(parseManifest({ models: [{ ...valid, note: 'x' }] }).models[0]).toEqual(valid);
  });

  it.each([
    ['a missing models array', {}, 'models: missing'],
    ['models that is not an array', { models: {} }, 'models: expected an array of models'],
    ['a missing path', { models: [{ id: 'x', label: 'X' }] }, 'models[0].path: missing'],
    ['a document that is not an object', 'models', '(manifest): expected an object with a "models" array'],
    ['an absolute path', { models: [{ ...valid, path: '/etc/model.onnx' }] }, 'models[0].path: expected a relative path inside public/models'],
    ['a path with ..', { models: [{ ...valid, path: '../model.onnx' }] }, 'models[0].path: expected a relative path inside public/models'],
    ['a URL path', { models: [{ ...valid, path: 'https://example.com/model.onnx' }] }, 'models[0].path: expected a relative path inside public/models'],
    ['a path that is not .onnx', { models: [{ ...valid, path: 'model.bin' }] }, 'models[0].path: expected the path of an .onnx file'],
    ['an unknown variant', { models: [{ ...valid, variant: 'model_int8' }] }, 'models[0].variant: expected one of "model", "model_fp16", "model_quantized"'],
    ['an unknown family', { models: [{ ...valid, family: 'bert' }] }, 'models[0].family: expected "esm2" or "dnabert"'],
    ['an empty label', { models: [{ ...valid, label: '' }] }, 'models[0].label: expected a non-empty label'],
    ['external data outside the folder', { models: [{ ...valid, externalData: ['../x'] }] }, 'models[0].externalData[0]: expected a file name or relative path'],
    ['a duplicate id', { models: [valid, { ...valid, label: 'Again' }] }, 'models[1].id: expected a unique id, but "esm2_t6_8M_export" appears twice'],
  ])('parseManifest rejects %s', (_name, json, problem) => {
    let error: ModelSourceError | undefined;
    try {
      parseManifest(json);
    } catch (caught) {
      error = caught as ModelSourceError;
    }
    expect(error?.code).toBe('invalid-manifest');
    expect(error?.message).toContain(`manifest.json is invalid:\n  ${problem}`);
  });
});

describe('fetchManifest', () => {
  it('returns an empty manifest on 404', async () => {
    expect(await fetchManifest(`${hub.baseUrl}/models/manifest.json`)).toEqual({ models: [] });
  });

  it('names the URL of an invalid manifest', async () => {
    const url = `${hub.baseUrl}${repoPath(HUB_REPOS.esm2, 'config.json')}`;
    await expect(fetchManifest(url)).rejects.toThrow(`${url} is invalid:\n  models: missing`);
  });

  it('rejects a manifest that is not JSON', async () => {
    const url = `${hub.baseUrl}${repoPath(HUB_REPOS.badConfig, 'config.json')}`;
    await expect(fetchManifest(url)).rejects.toThrow(new RegExp(`^${url} is not valid JSON \\(.*\\)\\. Fix public/models/manifest\\.json\\.$`));
  });
});

describe('hub server headers', () => {
  it('allows cross-origin reads on normal routes', async () => {
    const response = await fetch(`${hub.baseUrl}${repoPath(HUB_REPOS.esm2, 'config.json')}`);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
  });

  it('sends no CORS headers under /no-cors', async () => {
    const response = await fetch(`${hub.baseUrl}${repoPath(HUB_REPOS.esm2, 'config.json', DELIVERY_PREFIXES.noCors)}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.headers.get('cross-origin-resource-policy')).toBeNull();
  });
});
