import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_HUB_BASE_URL,
  DnaTokenizerLoadError,
  dnaTokenizerUrl,
  fetchDnaTokenizer,
  type DnaTokenizerSource,
} from '../../src/sequences/dnaTokenizer';

/** A BPE tokenizer.json over A, C, G and T with merges A C, G T and AC GT, wrapping input in [CLS] and [SEP]. */
const TOKENIZER_JSON = JSON.stringify({
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: ['[UNK]', '[CLS]', '[SEP]', '[PAD]', '[MASK]'].map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  })),
  normalizer: null,
  pre_tokenizer: { type: 'Whitespace' },
  post_processor: {
    type: 'TemplateProcessing',
    single: [
      { SpecialToken: { id: '[CLS]', type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: '[SEP]', type_id: 0 } },
    ],
    pair: [],
    special_tokens: {
      '[CLS]': { id: '[CLS]', ids: [1], tokens: ['[CLS]'] },
      '[SEP]': { id: '[SEP]', ids: [2], tokens: ['[SEP]'] },
    },
  },
  decoder: null,
  model: {
    type: 'BPE',
    dropout: null,
    unk_token: '[UNK]',
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: false,
    byte_fallback: false,
    vocab: {
      '[UNK]': 0, '[CLS]': 1, '[SEP]': 2, '[PAD]': 3, '[MASK]': 4,
      A: 5, C: 6, G: 7, T: 8, AC: 9, GT: 10, ACGT: 11,
    },
    merges: ['A C', 'G T', 'AC GT'],
  },
});

/** Responses of the test server by path: status, content type and body. */
const ROUTES: Record<string, [number, string, string]> = {
  '/files/tokenizer.json': [200, 'application/json', TOKENIZER_JSON],
  '/zhihan1996/DNABERT-S/resolve/main/tokenizer.json': [200, 'application/json', TOKENIZER_JSON],
  '/zhihan1996/DNABERT-S/resolve/v1.0/tokenizer.json': [200, 'application/json', TOKENIZER_JSON],
  '/files/page.html': [200, 'text/html', '<!DOCTYPE html>\n<html><body>Sign in</body></html>'],
  '/files/array.json': [200, 'application/json', '[1, 2, 3]'],
  '/files/config.json': [200, 'application/json', '{"model_type": "bert"}'],
  '/files/gated.json': [403, 'text/plain', 'Access to this model is restricted.'],
  '/files/broken.json': [500, 'text/plain', 'Internal error'],
};

let server: Server;
let baseUrl: string;
/** Address on 127.0.0.1 where nothing listens, for connection failures. */
let closedUrl: string;

async function listen(target: Server): Promise<string> {
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  server = createServer((request, response) => {
    const [status, contentType, body] = ROUTES[request.url ?? ''] ?? [404, 'text/plain', 'Entry not found'];
    response.writeHead(status, { 'content-type': contentType });
    response.end(body);
  });
  baseUrl = await listen(server);

  const closed = createServer();
  closedUrl = await listen(closed);
  await new Promise<void>((resolve) => closed.close(() => resolve()));
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function fetchError(source: DnaTokenizerSource): Promise<DnaTokenizerLoadError> {
  try {
    await fetchDnaTokenizer(source);
  } catch (error) {
    if (error instanceof DnaTokenizerLoadError) return error;
    throw error;
  }
  throw new Error('Expected fetchDnaTokenizer to throw DnaTokenizerLoadError, but it returned.');
}

describe('dnaTokenizerUrl', () => {
  it('dnaTokenizerUrl returns a URL unchanged', () => {
    expect(dnaTokenizerUrl({ url: 'http://127.0.0.1:1/x/tokenizer.json' })).toBe('http://127.0.0.1:1/x/tokenizer.json');
  });

  it('dnaTokenizerUrl builds the hub resolve address', () => {
    expect(dnaTokenizerUrl({ hubId: 'zhihan1996/DNABERT-S', hubBaseUrl: 'http://127.0.0.1:8080' })).toBe(
      'http://127.0.0.1:8080/zhihan1996/DNABERT-S/resolve/main/tokenizer.json',
    );
  });

  it('dnaTokenizerUrl strips a trailing slash from the hub base', () => {
    expect(dnaTokenizerUrl({ hubId: 'owner/model', hubBaseUrl: 'http://127.0.0.1:8080/' })).toBe(
      'http://127.0.0.1:8080/owner/model/resolve/main/tokenizer.json',
    );
  });

  it('dnaTokenizerUrl uses the given revision', () => {
    expect(dnaTokenizerUrl({ hubId: 'owner/model', hubBaseUrl: 'http://127.0.0.1:1', revision: 'v1.0' })).toBe(
      'http://127.0.0.1:1/owner/model/resolve/v1.0/tokenizer.json',
    );
  });

  it('dnaTokenizerUrl defaults to the public hub', () => {
    expect(dnaTokenizerUrl({ hubId: 'owner/model' })).toBe(
      `${DEFAULT_HUB_BASE_URL}/owner/model/resolve/main/tokenizer.json`,
    );
  });

  it.each(['DNABERT-S', 'owner/model/extra', '/model', 'owner/', 'owner/mo del'])(
    'dnaTokenizerUrl rejects hub ID %s',
    (hubId) => {
      expect(() => dnaTokenizerUrl({ hubId })).toThrow(DnaTokenizerLoadError);
      expect(() => dnaTokenizerUrl({ hubId })).toThrow(`Invalid hub ID '${hubId}': expected owner/name`);
    },
  );
});

describe('fetchDnaTokenizer', () => {
  it('fetchDnaTokenizer loads a tokenizer from a URL', async () => {
    const tokenizer = await fetchDnaTokenizer({ url: `${baseUrl}/files/tokenizer.json` });
    expect(Array.from(tokenizer.encode('ACGTACG'))).toEqual([1, 11, 9, 7, 2]);
  });

  it('fetchDnaTokenizer gives exact counts', async () => {
    const tokenizer = await fetchDnaTokenizer({ url: `${baseUrl}/files/tokenizer.json` });
    expect(tokenizer.tokenCounts).toBe('exact');
  });

  it('fetchDnaTokenizer loads a tokenizer by hub ID', async () => {
    const tokenizer = await fetchDnaTokenizer({ hubId: 'zhihan1996/DNABERT-S', hubBaseUrl: baseUrl });
    expect(Array.from(tokenizer.encode('GTAC'))).toEqual([1, 10, 9, 2]);
  });

  it('fetchDnaTokenizer loads a hub revision', async () => {
    const tokenizer = await fetchDnaTokenizer({ hubId: 'zhihan1996/DNABERT-S', hubBaseUrl: baseUrl, revision: 'v1.0' });
    expect(tokenizer.countTokens('ACGT')).toBe(3);
  });

  it('fetchDnaTokenizer uses the given fetch function', async () => {
    const requested: string[] = [];
    const recordingFetch: typeof fetch = async (input, init) => {
      requested.push(String(input));
      return fetch(input, init);
    };
    await fetchDnaTokenizer({ url: `${baseUrl}/files/tokenizer.json` }, { fetch: recordingFetch });
    expect(requested).toEqual([`${baseUrl}/files/tokenizer.json`]);
  });
});

describe('fetchDnaTokenizer errors', () => {
  it('fetchDnaTokenizer reports a missing hub file', async () => {
    const error = await fetchError({ hubId: 'nobody/missing', hubBaseUrl: baseUrl });
    expect(error.message).toBe(
      `Tokenizer not found at ${baseUrl}/nobody/missing/resolve/main/tokenizer.json (HTTP 404 Not Found). ` +
        "Check the hub ID 'nobody/missing' and the revision, and that the repository has a tokenizer.json.",
    );
  });

  it('fetchDnaTokenizer reports a missing URL', async () => {
    const error = await fetchError({ url: `${baseUrl}/files/missing.json` });
    expect(error.message).toBe(
      `Tokenizer not found at ${baseUrl}/files/missing.json (HTTP 404 Not Found). Check the URL.`,
    );
  });

  it('fetchDnaTokenizer keeps URL and status on the error', async () => {
    const error = await fetchError({ url: `${baseUrl}/files/missing.json` });
    expect({ url: error.url, status: error.status }).toEqual({ url: `${baseUrl}/files/missing.json`, status: 404 });
  });

  it('fetchDnaTokenizer explains a denied request', async () => {
    const error = await fetchError({ url: `${baseUrl}/files/gated.json` });
    expect(error.message).toBe(
      `Failed to fetch the tokenizer at ${baseUrl}/files/gated.json (HTTP 403 Forbidden). ` +
        'The repository may be private or gated. Download tokenizer.json and load it as a file.',
    );
  });

  it('fetchDnaTokenizer reports a server error', async () => {
    const error = await fetchError({ url: `${baseUrl}/files/broken.json` });
    expect(error.status).toBe(500);
  });

  it('fetchDnaTokenizer rejects a body that is not JSON', async () => {
    const error = await fetchError({ url: `${baseUrl}/files/page.html` });
    expect(error.message).toBe(
      `The response from ${baseUrl}/files/page.html is not valid JSON ` +
        "(it starts with '<!DOCTYPE html> <html><body>Sign in</bod...'). Expected a Hugging Face tokenizer.json.",
    );
  });

  it('fetchDnaTokenizer rejects JSON that is not an object', async () => {
    const error = await fetchError({ url: `${baseUrl}/files/array.json` });
    expect(error.message).toBe(
      `The response from ${baseUrl}/files/array.json is JSON but not an object. ` +
        'Expected a Hugging Face tokenizer.json.',
    );
  });

  it('fetchDnaTokenizer rejects a JSON file that is not a tokenizer', async () => {
    const error = await fetchError({ url: `${baseUrl}/files/config.json` });
    expect(error.message).toMatch(
      new RegExp(`^The tokenizer at ${baseUrl}/files/config.json is not a Hugging Face tokenizer.json`),
    );
    expect(error.url).toBe(`${baseUrl}/files/config.json`);
  });

  it('fetchDnaTokenizer reports a refused connection', async () => {
    const error = await fetchError({ url: `${closedUrl}/tokenizer.json` });
    expect(error.message).toMatch(new RegExp(`^Failed to fetch the tokenizer from ${closedUrl}/tokenizer.json: `));
  });
});
