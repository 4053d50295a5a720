/** JSON and CSV files for a profile result, and reading a JSON file back. */

import type { PointResult, ProfileResult } from './result';
import { validateProfileResult } from './schema';

/** Thrown by `resultFromJson` when the text is not JSON at all. Schema problems throw a ResultValidationError. */
export class ResultJsonError extends Error {
  override readonly name = 'ResultJsonError';
}

/** Validates `result` and returns it as JSON indented by 2 spaces, with a final newline. */
export function resultToJson(result: ProfileResult): string {
  const validated = validateProfileResult(result);
  return `${JSON.stringify(validated, null, 2)}\n`;
}

/**
 * Parses and validates a profile result saved by `resultToJson`. Throws a ResultJsonError that
 * names the syntax problem when the text is not JSON, and a ResultValidationError when it is JSON
 * but not a valid result.
 */
export function resultFromJson(text: string): ProfileResult {
  // A leading byte order mark is legal in a UTF-8 file but not in JSON.
  const body = text.replace(/^\uFEFF/, '');
  if (body.trim() === '') {
    throw new ResultJsonError('The file is empty. Open the .json file that the profiler saved.');
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    const problem = error instanceof SyntaxError ? error.message : String(error);
    throw new ResultJsonError(
      `The file is not valid JSON (${problem}). Open the .json file that the profiler saved, ` +
        'not a CSV export or a copy changed by hand.',
      { cause: error },
    );
  }
  return validateProfileResult(parsed);
}

/** Replaces every run of characters other than letters, digits, '.', '_' and '-' by one '-'. */
function toFileNamePart(text: string): string {
  const safe = text
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[.-]+|[.-]+$/g, '')
    .slice(0, 80);
  return safe === '' ? 'unknown' : safe;
}

/** Formats an ISO timestamp in UTC as 2026-12-04T20-30-00Z, with dashes because ':' is unsafe in file names. */
function toFileNameTimestamp(createdAt: string): string {
  const time = Date.parse(createdAt);
  if (Number.isNaN(time)) return toFileNamePart(createdAt);
  return new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '-');
}

/**
 * Returns a download name such as `batch-profile_esm2_t6_8M_webgpu_2026-12-04T20-30-00Z.json`.
 * The model id is reduced to letters, digits, '.', '_' and '-', so "facebook/esm2" becomes "facebook-esm2".
 */
export function resultFileName(result: ProfileResult): string {
  const model = toFileNamePart(result.model.id);
  const backend = toFileNamePart(result.environment.backend);
  const timestamp = toFileNameTimestamp(result.createdAt);
  return `batch-profile_${model}_${backend}_${timestamp}.json`;
}

interface CsvColumn {
  header: string;
  value: (point: PointResult) => string | number | null | undefined;
}

function csvColumns(result: ProfileResult): CsvColumn[] {
  return [
    { header: `batch_size_${result.sweep.unit}`, value: (point) => point.batchSize },
    { header: 'sequences', value: (point) => point.sequences },
    { header: 'tokens', value: (point) => point.tokens },
    { header: 'padded_tokens', value: (point) => point.paddedTokens },
    { header: 'status', value: (point) => point.status },
    { header: 'median_ms', value: (point) => point.medianMs },
    { header: 'p10_ms', value: (point) => point.p10Ms },
    { header: 'p90_ms', value: (point) => point.p90Ms },
    { header: 'runs', value: (point) => point.runs },
    { header: 'coefficient_of_variation', value: (point) => point.coefficientOfVariation ?? null },
    { header: 'relative_standard_error', value: (point) => point.relativeStandardError ?? null },
    { header: 'unstable', value: (point) => (point.unstable === undefined ? null : String(point.unstable)) },
    { header: 'sequences_per_second', value: (point) => point.sequencesPerSecond },
    { header: 'tokens_per_second', value: (point) => point.tokensPerSecond },
    { header: 'real_flops_per_second', value: (point) => point.realFlopsPerSecond ?? null },
    { header: 'padded_flops_per_second', value: (point) => point.paddedFlopsPerSecond ?? null },
    { header: 'peak_bytes', value: (point) => point.peakBytes },
    { header: 'weight_bytes', value: (point) => point.weightBytes ?? null },
    { header: 'runtime_peak_bytes', value: (point) => point.runtimePeakBytes ?? null },
    { header: 'spot_check_max_abs_difference', value: (point) => point.spotCheck?.maxAbsDifference ?? null },
    { header: 'warmup_ms', value: (point) => point.warmupMs },
    { header: 'message', value: (point) => point.message },
  ];
}

/**
 * Formats one CSV field by RFC 4180. Text that a spreadsheet would run as a formula (starting with
 * =, +, -, @, tab or carriage return) gets a leading apostrophe, because a shared report is untrusted input.
 */
function toCsvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return String(value);

  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * Returns the points as CSV: a header row with units in the column names, then one row per point.
 * Null values are empty fields. Lines end in CRLF, as RFC 4180 specifies.
 */
export function resultToCsv(result: ProfileResult): string {
  const columns = csvColumns(result);
  const rows = [columns.map((column) => column.header).join(',')];
  for (const point of result.points) {
    rows.push(columns.map((column) => toCsvField(column.value(point))).join(','));
  }
  return `${rows.join('\r\n')}\r\n`;
}
