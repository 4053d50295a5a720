/**
 * Caches downloaded model files by URL, so that loading the same model again makes no request. The
 * browser implementation uses Cache Storage, which a worker can reach and which persists across
 * visits. Tests and the CLI inject the in-memory one.
 */

/** Files stored by URL. Entries never expire: a changed file at the same URL needs `clear()`. */
export interface ModelCache {
  /** Returns the stored bytes for `url`, or null when there are none. */
  get(url: string): Promise<Uint8Array | null>;
  /** Stores `data` for `url`, replacing an earlier entry. */
  put(url: string, data: Uint8Array): Promise<void>;
  /** Returns the bytes of all entries together. */
  sizeBytes(): Promise<number>;
  /** Removes every entry. */
  clear(): Promise<void>;
}

/** The default Cache Storage name for model files. */
export const DEFAULT_MODEL_CACHE_NAME = 'onnx-model-files-v1';

/**
 * Creates a ModelCache over Cache Storage (`caches.open(cacheName)`). `storage` defaults to the global
 * `caches`, which exists only in secure contexts (https or localhost). Throws an Error when there is
 * none, so the caller can load without a cache.
 */
export function createCacheStorageModelCache(cacheName: string = DEFAULT_MODEL_CACHE_NAME, storage?: CacheStorage): ModelCache {
  const cacheStorage = storage ?? (globalThis as { caches?: CacheStorage }).caches;
  if (cacheStorage === undefined) {
    throw new Error(
      'Cache Storage is not available here: it needs a secure context (https or localhost). Load models without a cache.',
    );
  }
  const open = (): Promise<Cache> => cacheStorage.open(cacheName);

  return {
    async get(url) {
      const response = await (await open()).match(url);
      if (response === undefined) return null;
      return new Uint8Array(await response.arrayBuffer());
    },

    async put(url, data) {
      // A typed array body contributes only the bytes of its view. The cast drops SharedArrayBuffer
      // from the type, and the loader's buffers are plain ArrayBuffers.
      const response = new Response(data as Uint8Array<ArrayBuffer>, {
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(data.byteLength) },
      });
      await (await open()).put(url, response);
    },

    async sizeBytes() {
      const cache = await open();
      let total = 0;
      for (const request of await cache.keys()) {
        const response = await cache.match(request);
        if (response === undefined) continue;
        const declared = Number(response.headers.get('content-length'));
        total += Number.isFinite(declared) && declared > 0 ? declared : (await response.blob()).size;
      }
      return total;
    },

    async clear() {
      await cacheStorage.delete(cacheName);
    },
  };
}

/** Creates a ModelCache that keeps entries in a Map for the life of the object. */
export function createMemoryModelCache(): ModelCache {
  const entries = new Map<string, Uint8Array>();
  return {
    async get(url) {
      return entries.get(url) ?? null;
    },
    async put(url, data) {
      entries.set(url, data.slice());
    },
    async sizeBytes() {
      let total = 0;
      for (const data of entries.values()) total += data.byteLength;
      return total;
    },
    async clear() {
      entries.clear();
    },
  };
}
