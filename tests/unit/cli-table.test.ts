import { describe, expect, it } from 'vitest';
import { formatResultTable, formatSummary } from '../../src/cli/table';
import { SAMPLE_BATCH_SIZES, buildSamplePoint, buildSampleResult } from './fixtures/sampleResult';

const HEADER = [
  'batch', 'sequences', 'tokens', 'padded tokens', 'median ms', 'p10 ms', 'p90 ms', 'CV %', 'runs', 'warm-up ms',
  'sequences/s', 'tokens/s', 'GFLOP/s', 'peak MiB', 'output', 'status',
];
const column = (title: string) => HEADER.indexOf(title);
const STATUS_COLUMN = HEADER.length - 1;

/** Splits a table line "| a | b |" into its cells, keeping their padding. */
function cellsOf(line: string): string[] {
  return line.slice(2, -2).split(' | ');
}

function pipePositions(line: string): number[] {
  const positions: number[] = [];
  for (let i = 0; i < line.length; i += 1) {
    if (line[i] === '|') positions.push(i);
  }
  return positions;
}

describe('formatResultTable', () => {
  const lines = formatResultTable(buildSampleResult()).split('\n');
  const rows = lines.slice(2).map(cellsOf);

  it('formatResultTable starts with the header', () => {
    expect(cellsOf(lines[0]).map((cell) => cell.trim())).toEqual(HEADER);
  });

  it('formatResultTable right-aligns numeric columns in Markdown', () => {
    const separatorCells = lines[1].slice(1, -1).split('|');

    expect(separatorCells).toHaveLength(HEADER.length);
    for (const cell of separatorCells.slice(0, STATUS_COLUMN)) expect(cell).toMatch(/^-+:$/);
    expect(separatorCells[STATUS_COLUMN]).toBe('---');
  });

  it('formatResultTable writes one row per point', () => {
    expect(lines).toHaveLength(2 + SAMPLE_BATCH_SIZES.length);
    expect(rows.map((cells) => Number(cells[0]))).toEqual(SAMPLE_BATCH_SIZES);
  });

  it('formatResultTable formats an ok row', () => {
    // 512 tokens: median (6 + 512 × 0.0065) × 1.0137 = 9.456 ms, 2 sequences, 512 tokens, 70.0 MiB peak.
    // The sample points carry no CV, FLOP/s or spot check, as documents from before those fields.
    expect(rows[0].map((cell) => cell.trim())).toEqual(['512', '2', '512', '555', '9.5', '9.0', '10.2', '-', '10', '181.6', '211.51', '54147', '-', '70.0', 'finite', 'ok']);
  });

  it('formatResultTable appends the failure message', () => {
    const last = rows[rows.length - 1];

    expect(last[STATUS_COLUMN]).toBe('oom: Failed to allocate a 402653184-byte buffer: out of GPU memory.');
  });

  it('formatResultTable writes a dash for missing values', () => {
    const last = rows[rows.length - 1].map((cell) => cell.trim());

    expect(last.slice(column('median ms'), column('CV %') + 1)).toEqual(['-', '-', '-', '-']);
    expect(last[column('runs')]).toBe('0');
    expect(last.slice(column('warm-up ms'), column('GFLOP/s') + 1)).toEqual(['-', '-', '-', '-']);
    expect(last[column('peak MiB')]).toBe('6657.8');
    expect(last[column('output')]).toBe('-');
  });

  it('formatResultTable aligns every column but status', () => {
    const expected = pipePositions(lines[0]).slice(0, STATUS_COLUMN + 1);

    for (const line of lines) expect(pipePositions(line).slice(0, STATUS_COLUMN + 1)).toEqual(expected);
  });

  it('formatResultTable pads cells to the header width', () => {
    const widths = cellsOf(lines[0]).map((cell) => cell.length);

    for (const cells of rows) expect(cells.slice(0, STATUS_COLUMN).map((cell) => cell.length)).toEqual(widths.slice(0, STATUS_COLUMN));
  });

  it('formatResultTable widens a column for a long value', () => {
    const result = buildSampleResult();
    result.points = [buildSamplePoint(512)];
    result.points[0].batchSize = 123_456_789;

    const [header, , row] = formatResultTable(result).split('\n');

    expect(cellsOf(header)[0]).toBe('    batch');
    expect(cellsOf(row)[0]).toBe('123456789');
  });

  it('formatResultTable leaves out the message of an ok point', () => {
    const result = buildSampleResult();
    result.points = [{ ...buildSamplePoint(512), message: 'Measured with a software adapter.' }];

    const row = cellsOf(formatResultTable(result).split('\n')[2]);

    expect(row[STATUS_COLUMN]).toBe('ok');
  });

  it.each([
    { label: 'invalid-output with a message', message: 'The output contains NaN.', expected: 'invalid-output: The output contains NaN.' },
    { label: 'invalid-output without a message', message: undefined, expected: 'invalid-output' },
  ])('formatResultTable writes status for $label', ({ message, expected }) => {
    const result = buildSampleResult();
    result.points = [{ ...buildSamplePoint(512), status: 'invalid-output', message }];

    const row = cellsOf(formatResultTable(result).split('\n')[2]);

    expect(row[STATUS_COLUMN]).toBe(expected);
  });

  it('formatResultTable keeps a multi-line message on one row', () => {
    const result = buildSampleResult();
    const message = 'failed to call OrtRun(). ERROR_CODE: 1, ERROR_MESSAGE: Input shape:{2,13},\n  requested shape:{-1,999983,1}\n';
    result.points = [{ ...buildSamplePoint(512), status: 'error', message }];

    const lines = formatResultTable(result).split('\n');

    expect(lines).toHaveLength(3);
    expect(cellsOf(lines[2])[STATUS_COLUMN]).toBe('error: failed to call OrtRun(). ERROR_CODE: 1, ERROR_MESSAGE: Input shape:{2,13}, requested shape:{-1,999983,1}');
  });

  it('formatResultTable escapes pipes in a message', () => {
    const result = buildSampleResult();
    result.points = [{ ...buildSamplePoint(512), status: 'error', message: 'Kernel a|b failed.' }];

    const row = formatResultTable(result).split('\n')[2];

    expect(row.endsWith('| error: Kernel a\\|b failed. |')).toBe(true);
  });

  it('formatResultTable writes a dash for peak bytes on wasm', () => {
    const result = buildSampleResult();
    result.points = [{ ...buildSamplePoint(512), peakBytes: null }];

    const row = cellsOf(formatResultTable(result).split('\n')[2]);

    expect(row[column('peak MiB')].trim()).toBe('-');
  });

  it('formatResultTable shows CV, FLOP/s and output checks', () => {
    const result = buildSampleResult();
    result.points = [
      { ...buildSamplePoint(512), coefficientOfVariation: 0.1234, unstable: true, message: 'Noisy.', paddedFlopsPerSecond: 2.5e9, spotCheck: { row: 0, maxAbsDifference: 0.5, cosineSimilarity: 0.9, tolerance: 1e-3, agrees: false } },
    ];

    const row = cellsOf(formatResultTable(result).split('\n')[2]).map((cell) => cell.trim());

    expect(row[column('CV %')]).toBe('12.3 unstable');
    expect(row[column('GFLOP/s')]).toBe('2.500');
    expect(row[column('output')]).toBe('batch differs');
    expect(row[column('status')]).toBe('ok: Noisy.');
  });

  it('formatResultTable writes only the header for no points', () => {
    const result = buildSampleResult();
    result.points = [];

    expect(formatResultTable(result).split('\n')).toHaveLength(2);
  });
});

describe('formatSummary', () => {
  it('formatSummary describes model, input and sweep', () => {
    const lines = formatSummary(buildSampleResult()).split('\n');

    expect(lines).toEqual([
      'Model: esm2_t6_8M (7,408,960 parameters, reference architecture, synthetic weights), backend webgpu, device nvidia ada-lovelace',
      'Input: synthetic, 200 sequences, length min/median/max 50/274.5/500, 0 truncated',
      'Sweep: tokens from 512 to 8192 step 512',
    ]);
  });

  it('formatSummary marks a fallback adapter and a cancelled sweep', () => {
    const result = buildSampleResult();
    result.environment.adapter = { vendor: 'google', architecture: 'swiftshader', description: '', isFallbackAdapter: true };
    result.sweep.cancelled = true;

    const lines = formatSummary(result).split('\n');

    expect(lines[0]).toContain('device google swiftshader (fallback adapter: software, not a real GPU)');
    expect(lines[2]).toBe('Sweep: tokens from 512 to 8192 step 512 (cancelled)');
  });

  it('formatSummary names the CPU without an adapter', () => {
    const result = buildSampleResult();
    result.environment.adapter = null;

    expect(formatSummary(result).split('\n')[0]).toContain('device CPU');
  });
});
