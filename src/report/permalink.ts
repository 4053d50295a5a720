/**
 * Permalinks carry a whole profile result in the URL fragment as `report=1.<payload>`, where the payload
 * is the compact JSON, compressed with raw DEFLATE and encoded as base64url without padding. The
 * fragment never reaches a server, and the document is stripped of any field that could hold sequences.
 */

import { Inflate, deflateSync, strFromU8, strToU8 } from 'fflate';
import type { ProfileResult } from './result';
import { ResultValidationError, formatIssueList, validateProfileResult } from './schema';

const FRAGMENT_KEY = 'report';
/** Version of the encoding (JSON, raw DEFLATE, base64url), separate from the schema version of the document. */
const ENCODING_VERSION = '1';

/**
 * Limit on the decompressed JSON, so that a crafted link cannot make the tab allocate gigabytes.
 * A 1000-point result, the most that a sweep plans, is about 0.3 MB of compact JSON.
 */
const MAX_DECODED_BYTES = 8 * 1024 * 1024;

/** Maximum length of a run of residue letters that stays in a permalink. Longer runs are replaced. */
export const MAX_RESIDUE_RUN_LENGTH = 30;

/**
 * Runs of residue letters (the 20 standard amino acids plus B, O, U, X and Z) longer than the limit.
 * Each pattern is single-case, because camelCase names such as maxStorageBuffersPerShaderStage are
 * long runs of the same letters in mixed case.
 */
const RESIDUE_RUNS = [
  new RegExp(`[ACDEFGHIKLMNPQRSTVWYBOUXZ]{${MAX_RESIDUE_RUN_LENGTH + 1},}`, 'g'),
  new RegExp(`[acdefghiklmnpqrstvwybouxz]{${MAX_RESIDUE_RUN_LENGTH + 1},}`, 'g'),
];
const REMOVED_SEQUENCE = '[sequence removed]';

export type PermalinkErrorReason = 'not-a-report' | 'damaged' | 'invalid' | 'newer-version';

/** Thrown by `decodePermalinkFragment`. `reason` is the kind of problem that the link has. */
export class PermalinkError extends Error {
  override readonly name = 'PermalinkError';
  readonly reason: PermalinkErrorReason;

  constructor(reason: PermalinkErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

function replaceResidueRuns(text: string): string {
  let replaced = text;
  for (const pattern of RESIDUE_RUNS) replaced = replaced.replace(pattern, REMOVED_SEQUENCE);
  return replaced;
}

function scrubStrings(value: unknown): unknown {
  if (typeof value === 'string') return replaceResidueRuns(value);
  if (Array.isArray(value)) return value.map(scrubStrings);
  if (typeof value === 'object' && value !== null) {
    const scrubbed: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) scrubbed[key] = scrubStrings(child);
    return scrubbed;
  }
  return value;
}

/**
 * Returns a copy of `result` that is safe to put in a link: this is the one place where fields that
 * could hold sequences or FASTA headers are removed. Validation keeps only the keys of the contract,
 * which has no such field (`input.fileName` is a file name and stays). In every remaining string
 * value, a single-case run of more than MAX_RESIDUE_RUN_LENGTH residue letters, such as a sequence
 * quoted in an error message, is replaced by "[sequence removed]". Object keys are left as they are.
 * Throws a ResultValidationError on an invalid result.
 */
export function stripForPermalink(result: ProfileResult): ProfileResult {
  const contractOnly = validateProfileResult(result);
  // Scrubbing changes only string contents, never types or keys, so the contract still holds.
  return scrubStrings(contractOnly) as ProfileResult;
}

function bytesToBase64Url(bytes: Uint8Array): string {
  let binary = '';
  const chunkSize = 0x8000;
  for (let offset = 0; offset < bytes.length; offset += chunkSize) {
    binary += String.fromCharCode(...bytes.subarray(offset, offset + chunkSize));
  }
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Decodes unpadded base64url. Returns null on characters outside the alphabet or an impossible length. */
function base64UrlToBytes(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

/** Inflates raw DEFLATE data in small input chunks, so the output limit is checked before memory grows. */
function inflateWithLimit(compressed: Uint8Array, maxBytes: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  let totalBytes = 0;
  const inflater = new Inflate((chunk) => {
    totalBytes += chunk.length;
    if (totalBytes > maxBytes) throw new RangeError(`decompressed report exceeds ${maxBytes} bytes`);
    chunks.push(chunk.slice());
  });

  const inputChunkSize = 1024;
  if (compressed.length === 0) throw new RangeError('compressed report is empty');
  for (let offset = 0; offset < compressed.length; offset += inputChunkSize) {
    const end = offset + inputChunkSize;
    inflater.push(compressed.subarray(offset, end), end >= compressed.length);
  }

  const output = new Uint8Array(totalBytes);
  let position = 0;
  for (const chunk of chunks) {
    output.set(chunk, position);
    position += chunk.length;
  }
  return output;
}

/**
 * Returns the fragment, without '#', that carries `result`: `report=1.<base64url of deflate-raw(JSON)>`.
 * Throws a ResultValidationError on an invalid result.
 * NOTE: the length grows with the points. With the full-precision timings of the unit-test fixture it
 * measured about 3.2 kB for 16 points, 11 kB for 100 and 92 kB for 1000, and nothing here caps it.
 */
export function encodePermalinkFragment(result: ProfileResult): string {
  const json = JSON.stringify(stripForPermalink(result));
  const compressed = deflateSync(strToU8(json), { level: 9 });
  return `${FRAGMENT_KEY}=${ENCODING_VERSION}.${bytesToBase64Url(compressed)}`;
}

/** Returns `baseUrl` with its fragment replaced by the permalink fragment for `result`. */
export function permalinkUrl(baseUrl: string, result: ProfileResult): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch (error) {
    throw new TypeError(
      `Invalid base URL ${JSON.stringify(baseUrl)}: expected an absolute URL such as https://example.org/profiler/.`,
      { cause: error },
    );
  }
  url.hash = encodePermalinkFragment(result);
  return url.toString();
}

const NOT_A_REPORT =
  'This link does not contain a batch-profiler report. Check that you copied the whole link, ' +
  'or open the JSON file of the report instead.';
const DAMAGED =
  'The report in this link is damaged: it may have been cut off when copied. ' +
  'Ask for the link again or open the JSON file instead.';

/** Returns the value of the `report` parameter of a fragment, a URL or a bare `report=…` string. */
function readReportParameter(fragment: string): string | null {
  const hashIndex = fragment.indexOf('#');
  const bare = hashIndex === -1 ? fragment : fragment.slice(hashIndex + 1);
  return new URLSearchParams(bare).get(FRAGMENT_KEY);
}

function decodePayload(payload: string): unknown {
  const compressed = base64UrlToBytes(payload);
  if (compressed === null) throw new PermalinkError('damaged', DAMAGED);

  let json: string;
  try {
    json = strFromU8(inflateWithLimit(compressed, MAX_DECODED_BYTES));
  } catch (error) {
    throw new PermalinkError('damaged', DAMAGED, { cause: error });
  }

  try {
    return JSON.parse(json);
  } catch (error) {
    throw new PermalinkError('damaged', DAMAGED, { cause: error });
  }
}

/**
 * Decodes and validates the report in a permalink fragment. Accepts the fragment with or without
 * its leading '#', or a whole URL. Throws a PermalinkError whose `reason` is 'not-a-report' for a
 * fragment without a report, 'damaged' when decoding fails, 'newer-version' for a report or encoding
 * newer than this app, and 'invalid' when the document breaks the schema.
 */
export function decodePermalinkFragment(fragment: string): ProfileResult {
  const parameter = readReportParameter(fragment);
  if (parameter === null || parameter === '') throw new PermalinkError('not-a-report', NOT_A_REPORT);

  const dotIndex = parameter.indexOf('.');
  const version = dotIndex === -1 ? '' : parameter.slice(0, dotIndex);
  if (!/^\d+$/.test(version)) throw new PermalinkError('damaged', DAMAGED);
  if (version !== ENCODING_VERSION) {
    const isNewer = Number(version) > Number(ENCODING_VERSION);
    if (!isNewer) throw new PermalinkError('damaged', DAMAGED);
    throw new PermalinkError(
      'newer-version',
      `This link was made by a newer version of the batch profiler (link format ${version}), which this ` +
        'version cannot read. Open the link in the latest version of the profiler, or ask for the JSON file.',
    );
  }

  const decoded = decodePayload(parameter.slice(dotIndex + 1));
  try {
    return validateProfileResult(decoded);
  } catch (error) {
    if (!(error instanceof ResultValidationError)) throw error;
    if (error.fromNewerVersion) throw new PermalinkError('newer-version', error.message, { cause: error });
    const message =
      'The report in this link is not a valid batch-profiler report:\n' +
      `${formatIssueList(error.issues)}\n` +
      'It may come from an incompatible version of the profiler. Ask for the JSON file instead.';
    throw new PermalinkError('invalid', message, { cause: error });
  }
}
