import { deflateSync, strToU8 } from 'fflate';
import { describe, expect, it } from 'vitest';
import {
  MAX_RESIDUE_RUN_LENGTH,
  PermalinkError,
  decodePermalinkFragment,
  encodePermalinkFragment,
  permalinkUrl,
  stripForPermalink,
  type PermalinkErrorReason,
} from '../../src/report/permalink';
import type { ProfileResult } from '../../src/report/result';
import { buildSamplePoint, buildSampleResult } from './fixtures/sampleResult';

/** Human hemoglobin alpha chain, 142 residues. */
const HEMOGLOBIN_ALPHA =
  'MVLSPADKTNVKAAWGKVGAHAGEYGAEALERMFLSFPTTKTYFPHFDLSHGSAQVKGHGKKVADALTNAVAHVDDMPNAL' +
  'SALSDLHAHKLRVDPVNFKLLSHCLLVTLAAHLPAEFTPAVHASLDKFLASVSTVLTSKYR';

/** Encodes any value the way the app does, so tests can build links that the encoder would refuse to make. */
function fragmentOf(value: unknown, encodingVersion = '1'): string {
  return fragmentOfText(JSON.stringify(value), encodingVersion);
}

function fragmentOfText(text: string, encodingVersion = '1'): string {
  return `report=${encodingVersion}.${Buffer.from(deflateSync(strToU8(text))).toString('base64url')}`;
}

function permalinkErrorOf(fragment: string): PermalinkError {
  try {
    decodePermalinkFragment(fragment);
  } catch (error) {
    if (error instanceof PermalinkError) return error;
    throw error;
  }
  throw new Error('expected decodePermalinkFragment to throw');
}

/** Collects every string in a JSON value, object keys included. */
function collectStrings(value: unknown, found: string[] = []): string[] {
  if (typeof value === 'string') found.push(value);
  else if (Array.isArray(value)) for (const item of value) collectStrings(item, found);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      found.push(key);
      collectStrings(child, found);
    }
  }
  return found;
}

function buildResultWithSequences(): ProfileResult {
  const result = buildSampleResult();
  result.input.source = 'fasta';
  result.input.fileName = 'globins.fasta';
  delete result.input.synthetic;
  Object.assign(result, { sequences: [HEMOGLOBIN_ALPHA, HEMOGLOBIN_ALPHA.toLowerCase()] });
  Object.assign(result.input, { headers: ['>sp|P69905|HBA_HUMAN Hemoglobin subunit alpha'] });
  Object.assign(result.points[0], { batch: [HEMOGLOBIN_ALPHA] });
  result.points[15].message = `Out of memory while running ${HEMOGLOBIN_ALPHA}`;
  return result;
}

describe('encodePermalinkFragment', () => {
  it('encodePermalinkFragment uses the report=1. prefix and base64url', () => {
    expect(encodePermalinkFragment(buildSampleResult())).toMatch(/^report=1\.[A-Za-z0-9_-]+$/);
  });

  it('encodePermalinkFragment keeps a 16-point result short', () => {
    const fragment = encodePermalinkFragment(buildSampleResult());
    expect(fragment.length).toBeLessThan(4000);
  });

  it('encodePermalinkFragment round-trips the sample result', () => {
    const sample = buildSampleResult();
    expect(decodePermalinkFragment(encodePermalinkFragment(sample))).toEqual(sample);
  });

  it('encodePermalinkFragment rejects an invalid result', () => {
    const result = buildSampleResult();
    result.sweep.headroom = 0;
    expect(() => encodePermalinkFragment(result)).toThrow('sweep.headroom');
  });

  it('encodePermalinkFragment leaves out sequences', () => {
    const fragment = encodePermalinkFragment(buildResultWithSequences());
    const decoded = decodePermalinkFragment(fragment);
    expect(JSON.stringify(decoded)).not.toContain(HEMOGLOBIN_ALPHA.slice(0, 31));
  });
});

describe('stripForPermalink', () => {
  it('stripForPermalink leaves no long residue run', () => {
    const stripped = stripForPermalink(buildResultWithSequences());
    const longRun = new RegExp(
      `[ACDEFGHIKLMNPQRSTVWY]{${MAX_RESIDUE_RUN_LENGTH + 1},}|[acdefghiklmnpqrstvwy]{${MAX_RESIDUE_RUN_LENGTH + 1},}`,
    );
    expect(collectStrings(stripped).filter((text) => longRun.test(text))).toEqual([]);
  });

  it('stripForPermalink leaves no part of the sequence', () => {
    const stripped = collectStrings(stripForPermalink(buildResultWithSequences())).map((text) => text.toUpperCase());
    const window = MAX_RESIDUE_RUN_LENGTH + 1;
    const leaks: string[] = [];
    for (let start = 0; start + window <= HEMOGLOBIN_ALPHA.length; start++) {
      const part = HEMOGLOBIN_ALPHA.slice(start, start + window);
      if (stripped.some((text) => text.includes(part))) leaks.push(part);
    }
    expect(leaks).toEqual([]);
  });

  it('stripForPermalink drops fields outside the contract', () => {
    const stripped = stripForPermalink(buildResultWithSequences()) as unknown as Record<string, unknown>;
    expect(stripped).not.toHaveProperty('sequences');
    expect(stripped.input).not.toHaveProperty('headers');
    expect((stripped.points as Record<string, unknown>[])[0]).not.toHaveProperty('batch');
  });

  it('stripForPermalink replaces a sequence in a message', () => {
    const stripped = stripForPermalink(buildResultWithSequences());
    expect(stripped.points[15].message).toBe('Out of memory while running [sequence removed]');
  });

  it('stripForPermalink keeps the FASTA file name', () => {
    expect(stripForPermalink(buildResultWithSequences()).input.fileName).toBe('globins.fasta');
  });

  it('stripForPermalink keeps a residue run of the maximum length', () => {
    const result = buildSampleResult();
    const peptide = HEMOGLOBIN_ALPHA.slice(0, MAX_RESIDUE_RUN_LENGTH);
    result.points[15].message = `failed on ${peptide}`;
    expect(stripForPermalink(result).points[15].message).toBe(`failed on ${peptide}`);
  });

  it('stripForPermalink keeps long camelCase names', () => {
    const result = buildSampleResult();
    result.points[15].message = 'Binding exceeds maxStorageBuffersPerShaderStage.';
    expect(stripForPermalink(result).points[15].message).toBe('Binding exceeds maxStorageBuffersPerShaderStage.');
  });

  it('stripForPermalink leaves its input unchanged', () => {
    const result = buildResultWithSequences();
    stripForPermalink(result);
    expect((result as unknown as Record<string, unknown>).sequences).toEqual([
      HEMOGLOBIN_ALPHA,
      HEMOGLOBIN_ALPHA.toLowerCase(),
    ]);
    expect(result.points[15].message).toContain(HEMOGLOBIN_ALPHA);
  });
});

describe('decodePermalinkFragment', () => {
  const fragment = encodePermalinkFragment(buildSampleResult());

  it.each([
    { name: 'a leading #', input: `#${fragment}` },
    { name: 'a whole URL', input: `https://example.org/profiler/?view=1#${fragment}` },
    { name: 'other parameters', input: `#tab=chart&${fragment}` },
  ])('decodePermalinkFragment accepts $name', ({ input }) => {
    expect(decodePermalinkFragment(input).recommendation.recommendedBatchSize).toBe(6144);
  });

  const damagedPayload = fragment.slice(0, Math.floor(fragment.length / 2));
  const bomb = Buffer.from(deflateSync(new Uint8Array(20 * 1024 * 1024))).toString('base64url');
  const newerResult = { ...buildSampleResult(), schemaVersion: 3 };
  const invalidResult = { ...buildSampleResult(), createdAt: 'soon' };

  const failures: { name: string; input: string; reason: PermalinkErrorReason }[] = [
    { name: 'an empty fragment', input: '', reason: 'not-a-report' },
    { name: 'a bare #', input: '#', reason: 'not-a-report' },
    { name: 'a section anchor', input: '#installation', reason: 'not-a-report' },
    { name: 'a foreign parameter', input: '#access_token=abc', reason: 'not-a-report' },
    { name: 'an empty report', input: '#report=', reason: 'not-a-report' },
    { name: 'a truncated link', input: damagedPayload, reason: 'damaged' },
    { name: 'a payload with invalid characters', input: `${fragment.slice(0, 40)}!!`, reason: 'damaged' },
    { name: 'an impossible base64 length', input: 'report=1.abcde', reason: 'damaged' },
    { name: 'a payload that is not deflate', input: 'report=1.aGVsbG8gd29ybGQ', reason: 'damaged' },
    { name: 'an empty payload', input: 'report=1.', reason: 'damaged' },
    { name: 'a missing version', input: 'report=abc', reason: 'damaged' },
    { name: 'a payload that is not JSON', input: fragmentOfText('{"a":'), reason: 'damaged' },
    { name: 'a decompression bomb', input: `report=1.${bomb}`, reason: 'damaged' },
    { name: 'a newer link format', input: fragmentOf(buildSampleResult(), '2'), reason: 'newer-version' },
    { name: 'a newer schema version', input: fragmentOf(newerResult), reason: 'newer-version' },
    { name: 'a document that breaks the schema', input: fragmentOf(invalidResult), reason: 'invalid' },
    { name: 'a JSON value that is not an object', input: fragmentOf([1, 2]), reason: 'invalid' },
  ];

  it.each(failures)('decodePermalinkFragment reports $name as $reason', ({ input, reason }) => {
    expect(permalinkErrorOf(input).reason).toBe(reason);
  });

  it('decodePermalinkFragment explains a foreign fragment', () => {
    expect(permalinkErrorOf('#installation').message).toBe(
      'This link does not contain a batch-profiler report. Check that you copied the whole link, ' +
        'or open the JSON file of the report instead.',
    );
  });

  it('decodePermalinkFragment explains a damaged link', () => {
    expect(permalinkErrorOf(damagedPayload).message).toBe(
      'The report in this link is damaged: it may have been cut off when copied. ' +
        'Ask for the link again or open the JSON file instead.',
    );
  });

  it('decodePermalinkFragment lists schema issues', () => {
    const error = permalinkErrorOf(fragmentOf(invalidResult));
    expect(error.message).toContain('The report in this link is not a valid batch-profiler report:');
    expect(error.message).toContain('createdAt: expected an ISO 8601 date and time');
  });

  it('decodePermalinkFragment names a newer schema version', () => {
    const error = permalinkErrorOf(fragmentOf(newerResult));
    expect(error.message).toContain('made by a newer version of the batch profiler (schema version 3)');
  });

  it('decodePermalinkFragment names a newer link format', () => {
    const error = permalinkErrorOf(fragmentOf(buildSampleResult(), '2'));
    expect(error.message).toContain('made by a newer version of the batch profiler (link format 2)');
  });

  it('PermalinkError has its own name', () => {
    expect(permalinkErrorOf('').name).toBe('PermalinkError');
  });
});

describe('permalinkUrl', () => {
  const sample = buildSampleResult();

  it('permalinkUrl keeps the path and query', () => {
    const url = permalinkUrl('https://example.org/profiler/?lang=en', sample);
    expect(url.startsWith('https://example.org/profiler/?lang=en#report=1.')).toBe(true);
  });

  it('permalinkUrl replaces an existing fragment', () => {
    const url = permalinkUrl('https://example.org/profiler/#old', sample);
    expect(url).toBe(`https://example.org/profiler/#${encodePermalinkFragment(sample)}`);
  });

  it('permalinkUrl output decodes to the result', () => {
    expect(decodePermalinkFragment(permalinkUrl('http://localhost:5173/', sample))).toEqual(sample);
  });

  it('permalinkUrl rejects a relative base', () => {
    expect(() => permalinkUrl('/profiler/', sample)).toThrow(
      'Invalid base URL "/profiler/": expected an absolute URL such as https://example.org/profiler/.',
    );
  });

  it('permalinkUrl keeps a 16-point link under 30 kB', () => {
    expect(permalinkUrl('https://example.org/profiler/', sample).length).toBeLessThan(30_000);
  });
});

describe('permalink size', () => {
  it('encodePermalinkFragment stays under 30 kB for 100 points', () => {
    const result = buildSampleResult();
    result.points = Array.from({ length: 100 }, (_, index) => buildSamplePoint(64 * (index + 1)));
    result.points.push(buildSamplePoint(6464, 'oom'));
    result.recommendation = { maxBatchSize: 6400, recommendedBatchSize: 5120, reason: 'Sized for the test.' };
    expect(encodePermalinkFragment(result).length).toBeLessThan(30_000);
  });
});
