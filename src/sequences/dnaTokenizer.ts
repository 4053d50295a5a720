/**
 * DNABERT-S tokenization. With the model's tokenizer.json (BPE, vocabulary 4096) the token ids and counts
 * are exact, computed by the `@huggingface/tokenizers` package. Without it they are estimates from the
 * sequence length, and each tokenizer's `tokenCounts` field records which of the two it gives.
 */
import type { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';

/** Source of a token count: 'exact' from the model's tokenizer.json, 'estimated' from the length in bp. */
export type TokenCounts = 'exact' | 'estimated';

/**
 * Special token ids of DNABERT-S: the first five entries of the DNABERT-2 vocabulary. NOTE: these are not
 * checked here against DNABERT-S's own tokenizer.json, and loadDnaTokenizer reads the ids from the file.
 */
export const DNABERT_UNK_ID = 0;
export const DNABERT_CLS_ID = 1;
export const DNABERT_SEP_ID = 2;
export const DNABERT_PAD_ID = 3;
export const DNABERT_MASK_ID = 4;

export const DNABERT_VOCAB_SIZE = 4096;

/** Special tokens around every sequence: [CLS] before and [SEP] after. */
export const DNABERT_SPECIAL_TOKEN_COUNT = 2;

/**
 * Assumed average bp per BPE token, for estimates only. NOTE: this is a round guess, not a measurement
 * of DNABERT-S's tokenizer, whose real average depends on the sequence.
 */
export const ESTIMATED_BP_PER_TOKEN = 5;

export const DEFAULT_HUB_BASE_URL = 'https://huggingface.co';

export interface DnaTokenizer {
  readonly tokenCounts: TokenCounts;
  /** Number of token ids, special tokens included. Every id that encode returns is below it. */
  readonly vocabSize: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  /**
   * Encodes prepared DNA (upper case A, C, G, T and N, see prepareDna) as token ids, starting with [CLS]
   * and ending with [SEP].
   */
  encode(sequence: string): Int32Array;
  /** Returns the length of encode(sequence), special tokens included. */
  countTokens(sequence: string): number;
}

/** Source of a tokenizer.json: a URL, or a Hugging Face hub repository. */
export type DnaTokenizerSource =
  | { url: string }
  | {
      /** Repository ID such as 'zhihan1996/DNABERT-S'. */
      hubId: string;
      /** Hub address without a trailing path. Defaults to DEFAULT_HUB_BASE_URL. */
      hubBaseUrl?: string;
      /** Branch, tag or commit. Defaults to 'main'. */
      revision?: string;
    };

export interface LoadDnaTokenizerOptions {
  /** Contents of tokenizer_config.json, if any. The token ids come from tokenizer.json alone. */
  config?: object;
  /** Name of the input in error messages, such as a file name or URL. */
  sourceName?: string;
}

export interface FetchDnaTokenizerOptions {
  /** Fetch function to use. Defaults to the global fetch. */
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

/** Loading or fetching a tokenizer.json failed: the request failed, or the file is not a usable tokenizer. */
export class DnaTokenizerLoadError extends Error {
  override readonly name = 'DnaTokenizerLoadError';
  /** Address that was fetched, when the tokenizer came from a URL or the hub. */
  readonly url: string | undefined;
  /** HTTP status of a failed response. */
  readonly status: number | undefined;

  constructor(message: string, details: { url?: string; status?: number } = {}, options?: ErrorOptions) {
    super(message, options);
    this.url = details.url;
    this.status = details.status;
  }
}

/**
 * Estimates the DNABERT-S token count of a sequence of `lengthBp` bp: ceil(lengthBp / 5) BPE tokens plus
 * [CLS] and [SEP]. Throws RangeError unless lengthBp is an integer of at least 0.
 */
export function estimateDnaTokens(lengthBp: number): number {
  if (!Number.isInteger(lengthBp) || lengthBp < 0) {
    throw new RangeError(`Invalid sequence length ${lengthBp}: expected an integer number of bp of at least 0.`);
  }
  return Math.ceil(lengthBp / ESTIMATED_BP_PER_TOKEN) + DNABERT_SPECIAL_TOKEN_COUNT;
}

/** Token id offset of the estimated encoder, past the five special tokens. */
const ESTIMATED_FIRST_ID = 5;

/** Digit of each base in the estimated encoder's base-5 code. Every other character counts as N. */
const ESTIMATE_DIGIT_BY_BASE: Readonly<Record<string, number>> = { A: 0, C: 1, G: 2, T: 3 };
const ESTIMATE_OTHER_DIGIT = 4;

/**
 * Creates the tokenizer used without a tokenizer.json. Its counts are estimateDnaTokens. Its ids are
 * [CLS], one id per 5 bp piece (the last piece may be shorter), then [SEP]. Each piece maps to a distinct
 * id from 5 to 3909, within the 4096-token vocabulary, so the same sequence always gives the same ids.
 * The ids are not the ones DNABERT-S's BPE would give, and they serve only to run the model at the
 * right shapes.
 */
export function createEstimatedDnaTokenizer(): DnaTokenizer {
  return {
    tokenCounts: 'estimated',
    vocabSize: DNABERT_VOCAB_SIZE,
    clsId: DNABERT_CLS_ID,
    sepId: DNABERT_SEP_ID,
    padId: DNABERT_PAD_ID,
    encode: encodeEstimated,
    countTokens: (sequence) => estimateDnaTokens(sequence.length),
  };
}

function encodeEstimated(sequence: string): Int32Array {
  const ids = new Int32Array(estimateDnaTokens(sequence.length));
  ids[0] = DNABERT_CLS_ID;

  for (let piece = 0; piece < ids.length - DNABERT_SPECIAL_TOKEN_COUNT; piece += 1) {
    const start = piece * ESTIMATED_BP_PER_TOKEN;
    const end = Math.min(start + ESTIMATED_BP_PER_TOKEN, sequence.length);
    // A full piece reads as a base-5 number (0 to 3124). A shorter final piece of k bp gets its own range
    // after those of the full pieces and of the shorter lengths before it, so no two pieces share an id.
    let code = 0;
    for (let i = start; i < end; i += 1) {
      code = 5 * code + (ESTIMATE_DIGIT_BY_BASE[sequence[i]] ?? ESTIMATE_OTHER_DIGIT);
    }
    const pieceLength = end - start;
    let offset = 0;
    if (pieceLength < ESTIMATED_BP_PER_TOKEN) {
      offset = 5 ** ESTIMATED_BP_PER_TOKEN;
      for (let k = 1; k < pieceLength; k += 1) offset += 5 ** k;
    }
    ids[piece + 1] = ESTIMATED_FIRST_ID + offset + code;
  }

  ids[ids.length - 1] = DNABERT_SEP_ID;
  return ids;
}

/**
 * Loads a Hugging Face tokenizer.json, given as text or as the parsed object, with the
 * `@huggingface/tokenizers` package. The file must define [CLS], [SEP] and [PAD]. When its post-processor
 * does not add [CLS] and [SEP], as DNABERT-S's TemplateProcessing does, encode adds them itself. Throws
 * DnaTokenizerLoadError for text that is not JSON, or for a file the package cannot load.
 */
export async function loadDnaTokenizer(
  json: string | object,
  options: LoadDnaTokenizerOptions = {},
): Promise<DnaTokenizer> {
  const sourceName = options.sourceName ?? 'The tokenizer';
  const parsed = typeof json === 'string' ? parseTokenizerJson(json, sourceName) : json;
  if (parsed === null || typeof parsed !== 'object' || !('model' in parsed)) {
    throw new DnaTokenizerLoadError(
      `${sourceName} is not a Hugging Face tokenizer.json: it has no "model" entry. ` +
        "Load the model's tokenizer.json, not its config.json or tokenizer_config.json.",
    );
  }

  // Imported on first use, so that the package is a separate chunk that only this path loads.
  const { Tokenizer } = await import('@huggingface/tokenizers');
  let tokenizer: HfTokenizer;
  try {
    tokenizer = new Tokenizer(parsed, options.config ?? {});
  } catch (error) {
    throw new DnaTokenizerLoadError(
      `${sourceName} could not be loaded as a tokenizer: ${errorMessage(error)}`,
      {},
      { cause: error },
    );
  }

  const clsId = requireTokenId(tokenizer, '[CLS]', sourceName);
  const sepId = requireTokenId(tokenizer, '[SEP]', sourceName);
  const padId = requireTokenId(tokenizer, '[PAD]', sourceName);
  const addsSpecialTokens = checkSpecialTokens(tokenizer, clsId, sepId, sourceName);
  const vocabSize = tokenizer.get_vocab(true).size;

  const encode = (sequence: string): Int32Array => {
    const ids = tokenizer.encode(sequence).ids;
    if (addsSpecialTokens) return Int32Array.from(ids);
    const wrapped = new Int32Array(ids.length + DNABERT_SPECIAL_TOKEN_COUNT);
    wrapped[0] = clsId;
    wrapped.set(ids, 1);
    wrapped[wrapped.length - 1] = sepId;
    return wrapped;
  };

  return {
    tokenCounts: 'exact',
    vocabSize,
    clsId,
    sepId,
    padId,
    encode,
    countTokens: (sequence) => encode(sequence).length,
  };
}

/**
 * Returns the address of the tokenizer.json for `source`: the URL itself, or
 * `{hubBaseUrl}/{hubId}/resolve/{revision}/tokenizer.json`. Throws DnaTokenizerLoadError for a hub ID
 * that is not of the form owner/name.
 */
export function dnaTokenizerUrl(source: DnaTokenizerSource): string {
  if ('url' in source) return source.url;

  const { hubId } = source;
  if (!/^[A-Za-z0-9][\w.-]*\/[\w.-]+$/.test(hubId)) {
    throw new DnaTokenizerLoadError(
      `Invalid hub ID '${hubId}': expected owner/name, such as 'zhihan1996/DNABERT-S'.`,
    );
  }
  const base = (source.hubBaseUrl ?? DEFAULT_HUB_BASE_URL).replace(/\/+$/, '');
  const revision = encodeURIComponent(source.revision ?? 'main');
  return `${base}/${hubId}/resolve/${revision}/tokenizer.json`;
}

/**
 * Fetches a tokenizer.json from a URL or the hub (see dnaTokenizerUrl) and loads it with
 * loadDnaTokenizer. Throws DnaTokenizerLoadError when the request fails, the server returns an error
 * status, or the body is not a JSON tokenizer.
 */
export async function fetchDnaTokenizer(
  source: DnaTokenizerSource,
  options: FetchDnaTokenizerOptions = {},
): Promise<DnaTokenizer> {
  const url = dnaTokenizerUrl(source);
  const fetchFn = options.fetch ?? fetch;

  let response: Response;
  try {
    response = await fetchFn(url, { signal: options.signal });
  } catch (error) {
    throw new DnaTokenizerLoadError(
      `Failed to fetch the tokenizer from ${url}: ${errorMessage(error)}. Check the address and the ` +
        'connection. A server on another origin must also allow cross-origin requests.',
      { url },
      { cause: error },
    );
  }

  if (!response.ok) throw httpError(url, response, 'hubId' in source ? source.hubId : undefined);

  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DnaTokenizerLoadError(
      `The response from ${url} is not valid JSON (it starts with '${preview(text)}'). ` +
        'Expected a Hugging Face tokenizer.json.',
      { url, status: response.status },
      { cause: error },
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new DnaTokenizerLoadError(
      `The response from ${url} is JSON but not an object. Expected a Hugging Face tokenizer.json.`,
      { url, status: response.status },
    );
  }

  try {
    return await loadDnaTokenizer(parsed, { sourceName: `The tokenizer at ${url}` });
  } catch (error) {
    if (error instanceof DnaTokenizerLoadError) {
      throw new DnaTokenizerLoadError(error.message, { url, status: response.status }, { cause: error.cause });
    }
    throw error;
  }
}

/** Returns the token count of each record under `tokenizer`, special tokens included, for batching. */
export function countDnaTokens(records: readonly { sequence: string }[], tokenizer: DnaTokenizer): number[] {
  return records.map((record) => tokenizer.countTokens(record.sequence));
}

function parseTokenizerJson(text: string, sourceName: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new DnaTokenizerLoadError(
      `${sourceName} is not valid JSON (it starts with '${preview(text)}'): ${errorMessage(error)}. ` +
        'Expected a Hugging Face tokenizer.json.',
      {},
      { cause: error },
    );
  }
}

function requireTokenId(tokenizer: HfTokenizer, token: string, sourceName: string): number {
  const id = tokenizer.token_to_id(token);
  if (id === undefined) {
    throw new DnaTokenizerLoadError(
      `${sourceName} has no ${token} token, which DNABERT-S input needs. Load the DNABERT-S tokenizer.json.`,
    );
  }
  return id;
}

/**
 * Returns whether the tokenizer's post-processor wraps a sequence in [CLS] and [SEP]. Throws
 * DnaTokenizerLoadError when it adds other special tokens, because the model expects exactly those two.
 */
function checkSpecialTokens(tokenizer: HfTokenizer, clsId: number, sepId: number, sourceName: string): boolean {
  const plain = tokenizer.encode('A', { add_special_tokens: false }).ids;
  const withSpecial = tokenizer.encode('A').ids;
  if (withSpecial.length === plain.length) return false;

  const wrapsInClsSep =
    withSpecial.length === plain.length + DNABERT_SPECIAL_TOKEN_COUNT &&
    withSpecial[0] === clsId &&
    withSpecial[withSpecial.length - 1] === sepId;
  if (!wrapsInClsSep) {
    throw new DnaTokenizerLoadError(
      `${sourceName} has a post-processor that encodes 'A' as [${withSpecial.join(', ')}], but DNABERT-S ` +
        `expects [CLS] (${clsId}), the sequence, then [SEP] (${sepId}).`,
    );
  }
  return true;
}

function httpError(url: string, response: Response, hubId: string | undefined): DnaTokenizerLoadError {
  const { status } = response;
  const statusText = response.statusText ? ` ${response.statusText}` : '';
  let advice: string;
  if (status === 404) {
    advice =
      hubId === undefined
        ? 'Check the URL.'
        : `Check the hub ID '${hubId}' and the revision, and that the repository has a tokenizer.json.`;
  } else if (status === 401 || status === 403) {
    advice = 'The repository may be private or gated. Download tokenizer.json and load it as a file.';
  } else {
    advice = 'Try again later, or download tokenizer.json and load it as a file.';
  }
  const summary = status === 404 ? 'Tokenizer not found' : 'Failed to fetch the tokenizer';
  return new DnaTokenizerLoadError(`${summary} at ${url} (HTTP ${status}${statusText}). ${advice}`, { url, status });
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** First characters of a text, on one line, for error messages. */
function preview(text: string): string {
  const maxChars = 40;
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > maxChars ? `${oneLine.slice(0, maxChars)}...` : oneLine;
}
