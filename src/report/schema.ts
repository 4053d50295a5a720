/**
 * Runtime validation of the result contract in `result.ts`. The JSON download, the JSON import and the
 * permalink all pass through `validateProfileResult`, so a document that loads is one the app can show.
 */

import * as v from 'valibot';
import { SCHEMA_VERSION, type PointResult, type ProfileResult } from './result';

const NON_NEGATIVE = 'expected a finite number ≥ 0';
const NON_NEGATIVE_OR_NULL = 'expected a finite number ≥ 0 or null';
const NON_NEGATIVE_INTEGER = 'expected an integer ≥ 0';
const NON_NEGATIVE_INTEGER_OR_NULL = 'expected an integer ≥ 0 or null';
const POSITIVE_INTEGER = 'expected an integer ≥ 1';
const POSITIVE_INTEGER_OR_NULL = 'expected an integer ≥ 1 or null';

function nonNegativeNumber(message = NON_NEGATIVE) {
  return v.pipe(v.number(message), v.finite(message), v.minValue(0, message));
}

function nonNegativeInteger(message = NON_NEGATIVE_INTEGER) {
  return v.pipe(v.number(message), v.safeInteger(message), v.minValue(0, message));
}

function positiveInteger(message = POSITIVE_INTEGER) {
  return v.pipe(v.number(message), v.safeInteger(message), v.minValue(1, message));
}

function stringSchema(message = 'expected a string') {
  return v.string(message);
}

function objectSchema<const TEntries extends v.ObjectEntries>(entries: TEntries) {
  return v.object(entries, 'expected an object');
}

/**
 * Returns whether the YYYY-MM-DD part of an ISO timestamp names a real calendar day, because valibot's
 * isoTimestamp accepts 02-30. Text without that part passes here, since isoTimestamp already reports it.
 */
function hasRealCalendarDate(timestamp: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}/.test(timestamp)) return true;
  const year = Number(timestamp.slice(0, 4));
  const month = Number(timestamp.slice(5, 7));
  const day = Number(timestamp.slice(8, 10));
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

const ISO_TIMESTAMP = 'expected an ISO 8601 date and time such as "2026-12-04T20:30:00.000Z"';

const AdapterSchema = objectSchema({
  vendor: stringSchema(),
  architecture: stringSchema(),
  description: stringSchema(),
  isFallbackAdapter: v.boolean('expected true or false'),
});

const EnvironmentSchema = objectSchema({
  userAgent: stringSchema(),
  backend: v.picklist(['webgpu', 'wasm'], 'expected "webgpu" or "wasm"'),
  adapter: v.nullable(AdapterSchema),
  limits: v.record(v.string(), nonNegativeInteger(), 'expected an object of WebGPU limit names to numbers'),
  features: v.array(stringSchema(), 'expected an array of feature names'),
  wasmThreads: positiveInteger(),
  matmulPeak: v.optional(
    objectSchema({
      size: positiveInteger(),
      medianMs: nonNegativeNumber(),
      runs: positiveInteger(),
      flopsPerSecond: nonNegativeNumber(),
      timing: v.picklist(['timestamp-query', 'wall-clock'], 'expected "timestamp-query" or "wall-clock"'),
    }),
  ),
  capacity: v.optional(
    objectSchema({
      allocatedBytes: nonNegativeInteger(),
      stoppedBy: v.picklist(['out-of-memory', 'cap', 'device-lost', 'aborted', 'buffer-limit'], 'expected a capacity stop reason'),
      stepBytes: positiveInteger(),
      capBytes: positiveInteger(),
      message: stringSchema(),
    }),
  ),
});

const ModelSchema = objectSchema({
  id: v.pipe(stringSchema(), v.nonEmpty('expected a non-empty model id')),
  source: v.picklist(
    ['builtin', 'manifest', 'file', 'url', 'hub'],
    'expected one of "builtin", "manifest", "file", "url", "hub"',
  ),
  parameters: nonNegativeInteger(),
  dtype: v.picklist(['float32', 'float16'], 'expected "float32" or "float16"'),
  layers: positiveInteger(),
  hidden: positiveInteger(),
  heads: positiveInteger(),
  weights: stringSchema(),
  sourceLabel: v.optional(stringSchema()),
  variant: v.optional(stringSchema()),
  url: v.optional(stringSchema()),
});

const LengthStatsSchema = v.pipe(
  objectSchema({
    min: nonNegativeInteger(),
    // The median of an even number of lengths can end in .5, so it is not an integer.
    median: nonNegativeNumber(),
    max: nonNegativeInteger(),
  }),
  v.check((stats) => stats.min <= stats.median && stats.median <= stats.max, 'expected min ≤ median ≤ max'),
);

const FRACTION = 'expected a number from 0 to 1';

const SyntheticSettingsSchema = v.pipe(
  objectSchema({
    seed: v.pipe(v.number('expected an integer'), v.safeInteger('expected an integer')),
    count: positiveInteger(),
    minLength: positiveInteger(),
    maxLength: positiveInteger(),
    gcContent: v.optional(v.pipe(v.number(FRACTION), v.finite(FRACTION), v.minValue(0, FRACTION), v.maxValue(1, FRACTION))),
  }),
  v.check((settings) => settings.minLength <= settings.maxLength, 'expected minLength ≤ maxLength'),
);

const DnaInputSchema = objectSchema({
  recordCount: nonNegativeInteger(),
  chunkLengthBp: v.nullable(positiveInteger(POSITIVE_INTEGER_OR_NULL)),
  lastChunkPolicy: stringSchema(),
  nFraction: v.pipe(v.number(FRACTION), v.finite(FRACTION), v.minValue(0, FRACTION), v.maxValue(1, FRACTION)),
  tokenCounts: v.picklist(['exact', 'estimated'], 'expected "exact" or "estimated"'),
  tokenizerSource: v.optional(stringSchema()),
});

const TranslationSchema = objectSchema({
  chunkCount: nonNegativeInteger(),
  framesKept: nonNegativeInteger(),
  framesDropped: nonNegativeInteger(),
});

const InputSchema = objectSchema({
  source: v.picklist(['synthetic', 'fasta'], 'expected "synthetic" or "fasta"'),
  fileName: v.optional(stringSchema()),
  sequenceCount: nonNegativeInteger(),
  lengthStats: LengthStatsSchema,
  truncatedCount: nonNegativeInteger(),
  synthetic: v.optional(SyntheticSettingsSchema),
  alphabet: v.optional(v.picklist(['protein', 'dna'], 'expected "protein" or "dna"')),
  dna: v.optional(DnaInputSchema),
  translation: v.optional(TranslationSchema),
});

const HEADROOM = 'expected a fraction greater than 0 and at most 1';

const SweepSchema = v.pipe(
  objectSchema({
    unit: v.picklist(['sequences', 'tokens'], 'expected "sequences" or "tokens"'),
    min: positiveInteger(),
    max: positiveInteger(),
    step: positiveInteger(),
    warmupRuns: nonNegativeInteger(),
    headroom: v.pipe(v.number(HEADROOM), v.finite(HEADROOM), v.gtValue(0, HEADROOM), v.maxValue(1, HEADROOM)),
    minRuns: positiveInteger(),
    maxRuns: v.optional(positiveInteger()),
    maxTimePerPointMs: nonNegativeNumber(),
    storageBufferCacheMode: stringSchema(),
    cancelled: v.boolean('expected true or false'),
    search: v.optional(
      objectSchema({
        strategy: v.picklist(['linear', 'power-bisect', 'auto'], 'expected "linear", "power-bisect" or "auto"'),
        probes: nonNegativeInteger(),
        elapsedMs: nonNegativeNumber(),
        predictedMaxBatchSize: v.nullable(positiveInteger(POSITIVE_INTEGER_OR_NULL)),
      }),
    ),
    gpuBudgetBytes: v.optional(positiveInteger()),
    targetRelativeError: v.optional(v.pipe(v.number(FRACTION), v.finite(FRACTION), v.minValue(0, FRACTION), v.maxValue(1, FRACTION))),
    sessionOptions: v.optional(
      objectSchema({ graphOptimizationLevel: stringSchema(), preferredOutputLocation: stringSchema(), storageBufferCacheMode: stringSchema() }),
    ),
  }),
  v.check((sweep) => sweep.min <= sweep.max, 'expected min ≤ max'),
);

const PointStatusSchema = v.picklist(
  ['ok', 'oom', 'buffer-limit', 'device-lost', 'invalid-output', 'error'],
  'expected one of "ok", "oom", "buffer-limit", "device-lost", "invalid-output", "error"',
);

function optionalNullableNumber() {
  return v.optional(v.nullable(nonNegativeNumber(NON_NEGATIVE_OR_NULL)));
}

const PointEntries = {
  batchSize: positiveInteger(),
  sequences: nonNegativeInteger(),
  tokens: nonNegativeInteger(),
  paddedTokens: nonNegativeInteger(),
  status: PointStatusSchema,
  message: v.optional(stringSchema()),
  medianMs: v.nullable(nonNegativeNumber(NON_NEGATIVE_OR_NULL)),
  p10Ms: v.nullable(nonNegativeNumber(NON_NEGATIVE_OR_NULL)),
  p90Ms: v.nullable(nonNegativeNumber(NON_NEGATIVE_OR_NULL)),
  runs: nonNegativeInteger(),
  sequencesPerSecond: v.nullable(nonNegativeNumber(NON_NEGATIVE_OR_NULL)),
  tokensPerSecond: v.nullable(nonNegativeNumber(NON_NEGATIVE_OR_NULL)),
  peakBytes: v.nullable(nonNegativeInteger(NON_NEGATIVE_INTEGER_OR_NULL)),
  warmupMs: v.nullable(nonNegativeNumber(NON_NEGATIVE_OR_NULL)),
  inputExhausted: v.optional(v.boolean('expected true or false')),
  repeatedSequences: v.optional(nonNegativeInteger()),
  coefficientOfVariation: optionalNullableNumber(),
  relativeStandardError: optionalNullableNumber(),
  timingStopReason: v.optional(v.picklist(['target-error', 'time-cap', 'max-runs'], 'expected "target-error", "time-cap" or "max-runs"')),
  remeasured: v.optional(v.boolean('expected true or false')),
  unstable: v.optional(v.boolean('expected true or false')),
  realFlopsPerSecond: optionalNullableNumber(),
  paddedFlopsPerSecond: optionalNullableNumber(),
  peakFlopsFraction: optionalNullableNumber(),
  weightBytes: v.optional(v.nullable(nonNegativeInteger(NON_NEGATIVE_INTEGER_OR_NULL))),
  runtimePeakBytes: v.optional(v.nullable(nonNegativeInteger(NON_NEGATIVE_INTEGER_OR_NULL))),
  spotCheck: v.optional(
    objectSchema({
      row: nonNegativeInteger(),
      maxAbsDifference: nonNegativeNumber(),
      cosineSimilarity: v.pipe(v.number('expected a number from -1 to 1'), v.finite('expected a number from -1 to 1')),
      tolerance: nonNegativeNumber(),
      agrees: v.boolean('expected true or false'),
    }),
  ),
  kernelTimes: v.optional(
    objectSchema({
      runs: positiveInteger(),
      totalGpuMs: nonNegativeNumber(),
      byOpType: v.array(
        objectSchema({ opType: stringSchema(), totalMs: nonNegativeNumber(), kernelCount: nonNegativeNumber(), share: nonNegativeNumber() }),
        'expected an array of operator times',
      ),
    }),
  ),
};

const PointSchema = objectSchema(PointEntries);

const WorstCaseSchema = objectSchema({
  sequences: nonNegativeInteger(),
  paddedLength: nonNegativeInteger(),
  paddedTokens: nonNegativeInteger(),
  predictedPeakBytes: v.nullable(nonNegativeNumber(NON_NEGATIVE_OR_NULL)),
  withinBufferLimit: v.nullable(v.boolean('expected true, false or null')),
  status: v.optional(PointStatusSchema),
  message: stringSchema(),
});

const RecommendationSchema = objectSchema({
  maxBatchSize: v.nullable(positiveInteger(POSITIVE_INTEGER_OR_NULL)),
  recommendedBatchSize: v.nullable(positiveInteger(POSITIVE_INTEGER_OR_NULL)),
  reason: stringSchema(),
  worstCase: v.optional(WorstCaseSchema),
  confirmation: v.optional(PointSchema),
});

const CompanionSweepSchema = objectSchema({
  role: stringSchema(),
  model: ModelSchema,
  input: InputSchema,
  sweep: SweepSchema,
  points: v.array(PointSchema, 'expected an array of points'),
  recommendation: RecommendationSchema,
  drift: v.optional(
    objectSchema({
      maxAbsDifference: nonNegativeNumber(),
      cosineSimilarity: v.pipe(v.number('expected a number from -1 to 1'), v.finite('expected a number from -1 to 1')),
      sequences: positiveInteger(),
    }),
  ),
});

const SCHEMA_VERSION_MESSAGE = `expected schema version ${SCHEMA_VERSION}`;

/**
 * Valibot schema of `ProfileResult`. Unknown keys are dropped from the output, so a parsed document
 * contains only the fields of the contract. Cross-field rules that span sections are checked by
 * `validateProfileResult`, not here.
 */
export const ProfileResultSchema = objectSchema({
  schemaVersion: v.pipe(
    v.number(SCHEMA_VERSION_MESSAGE),
    v.check((version) => version === SCHEMA_VERSION, SCHEMA_VERSION_MESSAGE),
  ),
  createdAt: v.pipe(
    stringSchema(ISO_TIMESTAMP),
    v.isoTimestamp(ISO_TIMESTAMP),
    v.check(hasRealCalendarDate, 'expected a date that exists in the calendar'),
  ),
  app: objectSchema({ version: stringSchema(), onnxruntimeWebVersion: stringSchema() }),
  environment: EnvironmentSchema,
  model: ModelSchema,
  input: InputSchema,
  sweep: SweepSchema,
  points: v.array(PointSchema, 'expected an array of points'),
  recommendation: RecommendationSchema,
  companions: v.optional(v.array(CompanionSweepSchema, 'expected an array of companion sweeps')),
});

type SchemaOutput = v.InferOutput<typeof ProfileResultSchema>;

// Compile-time check that the schema and the contract describe the same type: each line fails to
// compile when a field is added, removed or retyped on one side only.
type AssertAssignable<Target, Source extends Target> = Source;
export type SchemaOutputIsProfileResult = AssertAssignable<ProfileResult, SchemaOutput>;
export type ProfileResultIsSchemaOutput = AssertAssignable<SchemaOutput, ProfileResult>;

/** Number of issues that an error message lists. The `issues` array of the error contains all of them. */
const MAX_ISSUES_IN_MESSAGE = 5;

const FIX_HINT =
  'Use a JSON file or link that the profiler saved, without hand edits, or run the profile again.';

/** Thrown when a value is not a valid profile result. `issues` lists every problem as "path: problem". */
export class ResultValidationError extends Error {
  override readonly name = 'ResultValidationError';
  readonly issues: string[];
  /** True when the document has a higher schema version than this app reads. */
  readonly fromNewerVersion: boolean;

  constructor(issues: string[], options: { fromNewerVersion?: boolean; message?: string } = {}) {
    super(options.message ?? describeIssues(issues));
    this.issues = issues;
    this.fromNewerVersion = options.fromNewerVersion ?? false;
  }
}

/** Formats the first few issues as indented lines, with a count of the rest. */
export function formatIssueList(issues: readonly string[]): string {
  const lines = issues.slice(0, MAX_ISSUES_IN_MESSAGE).map((issue) => `  ${issue}`);
  if (issues.length > MAX_ISSUES_IN_MESSAGE) lines.push(`  … and ${issues.length - MAX_ISSUES_IN_MESSAGE} more.`);
  return lines.join('\n');
}

function describeIssues(issues: readonly string[]): string {
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  return `The profile result is invalid (${count}):\n${formatIssueList(issues)}\n${FIX_HINT}`;
}

/** Formats a path as in JavaScript source, such as `points[3].medianMs`. The document root is `(document)`. */
function formatPath(path: readonly v.IssuePathItem[] | undefined): string {
  if (!path || path.length === 0) return '(document)';
  let formatted = '';
  for (const item of path) {
    const key = item.key;
    if (typeof key === 'number') formatted += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) formatted += formatted ? `.${key}` : key;
    else formatted += `[${JSON.stringify(String(key))}]`;
  }
  return formatted;
}

const MAX_SHOWN_STRING_LENGTH = 40;

/** Describes a received value briefly, so that a long string does not flood the message. */
function formatReceived(value: unknown): string {
  if (typeof value === 'string') {
    const truncated = value.length > MAX_SHOWN_STRING_LENGTH ? `${value.slice(0, MAX_SHOWN_STRING_LENGTH)}…` : value;
    return JSON.stringify(truncated);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return typeof value;
}

function formatIssue(issue: v.BaseIssue<unknown>): string {
  const path = formatPath(issue.path);
  // valibot reports a missing key as an object issue whose `expected` is the quoted key name.
  const isMissingKey = issue.type === 'object' && issue.input === undefined && issue.expected?.startsWith('"');
  if (isMissingKey) return `${path}: missing`;
  // A cross-field check on an object reports the whole object as its input, which is no use after "got".
  const input = issue.input;
  const isObject = typeof input === 'object' && input !== null && !Array.isArray(input);
  if (isObject && issue.type === 'check') return `${path}: ${issue.message}`;
  return `${path}: ${issue.message}, got ${formatReceived(input)}`;
}

function largestOkBatchSize(points: readonly PointResult[]): number | null {
  let largest: number | null = null;
  for (const point of points) {
    if (point.status === 'ok' && (largest === null || point.batchSize > largest)) largest = point.batchSize;
  }
  return largest;
}

/** Checks the rules that tie the recommendation to the points and returns the broken ones as issues. */
function findConsistencyIssues(result: ProfileResult): string[] {
  const issues: string[] = [];
  const { maxBatchSize, recommendedBatchSize } = result.recommendation;

  const expectedMax = largestOkBatchSize(result.points);
  if (maxBatchSize !== expectedMax) {
    const expected =
      expectedMax === null
        ? 'null because no point has status "ok"'
        : `${expectedMax}, the largest batchSize among points with status "ok"`;
    issues.push(`recommendation.maxBatchSize: expected ${expected}, got ${String(maxBatchSize)}`);
  }

  if (maxBatchSize === null && recommendedBatchSize !== null) {
    issues.push(
      `recommendation.recommendedBatchSize: expected null because maxBatchSize is null, got ${recommendedBatchSize}`,
    );
  } else if (maxBatchSize !== null && recommendedBatchSize === null) {
    issues.push('recommendation.recommendedBatchSize: expected a batch size because maxBatchSize is set, got null');
  } else if (maxBatchSize !== null && recommendedBatchSize !== null && recommendedBatchSize > maxBatchSize) {
    issues.push(
      `recommendation.recommendedBatchSize: expected at most maxBatchSize (${maxBatchSize}), ` +
        `got ${recommendedBatchSize}`,
    );
  }
  return issues;
}

/** Throws when `value` carries a numeric schemaVersion above the one this app reads. */
function rejectNewerSchemaVersion(value: unknown): void {
  if (typeof value !== 'object' || value === null || !('schemaVersion' in value)) return;
  const version = value.schemaVersion;
  if (typeof version !== 'number' || !Number.isFinite(version) || version <= SCHEMA_VERSION) return;

  const issue = `schemaVersion: expected ${SCHEMA_VERSION} or lower, got ${version}`;
  throw new ResultValidationError([issue], {
    fromNewerVersion: true,
    message:
      `This report was made by a newer version of the batch profiler (schema version ${version}), ` +
      `and this version reads schema version ${SCHEMA_VERSION} only. ` +
      'Open it in the latest version of the profiler, or reload this page to update it.',
  });
}

/**
 * Validates `value` against the result contract and returns it typed, without unknown keys.
 * Throws a ResultValidationError listing every problem. A document from a newer schema version gets
 * its own message and `fromNewerVersion: true`.
 */
export function validateProfileResult(value: unknown): ProfileResult {
  // valibot's object schema accepts arrays and lists each key as missing, which hides the real problem.
  if (Array.isArray(value)) throw new ResultValidationError(['(document): expected an object, got an array']);
  rejectNewerSchemaVersion(value);

  const parsed = v.safeParse(ProfileResultSchema, value);
  if (!parsed.success) {
    // One bad value can fail several actions of a pipe with the same message (-Infinity fails finite and minValue).
    const issues = [...new Set(parsed.issues.map(formatIssue))];
    throw new ResultValidationError(issues);
  }

  const consistencyIssues = findConsistencyIssues(parsed.output);
  if (consistencyIssues.length > 0) throw new ResultValidationError(consistencyIssues);

  return parsed.output;
}
