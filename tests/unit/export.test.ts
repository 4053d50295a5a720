import { describe, expect, it } from 'vitest';
import { ResultJsonError, resultFileName, resultFromJson, resultToCsv, resultToJson } from '../../src/report/export';
import { ResultValidationError } from '../../src/report/schema';
import { buildSampleResult } from './fixtures/sampleResult';

describe('resultToJson', () => {
  it('resultToJson indents by two spaces', () => {
    const json = resultToJson(buildSampleResult());
    expect(json.startsWith('{\n  "schemaVersion": 1,\n  "createdAt"')).toBe(true);
  });

  it('resultToJson ends with a newline', () => {
    expect(resultToJson(buildSampleResult()).endsWith('}\n')).toBe(true);
  });

  it('resultToJson rejects an invalid result', () => {
    const result = buildSampleResult();
    result.points[0].runs = -1;
    expect(() => resultToJson(result)).toThrow(ResultValidationError);
  });

  it('resultToJson leaves out keys outside the contract', () => {
    const result = Object.assign(buildSampleResult(), { sequences: ['MKTAYIAKQRQISFVKSHFSRQ'] });
    expect(resultToJson(result)).not.toContain('MKTAYIAKQR');
  });
});

describe('resultFromJson', () => {
  it('resultFromJson reads what resultToJson wrote', () => {
    const sample = buildSampleResult();
    expect(resultFromJson(resultToJson(sample))).toEqual(sample);
  });

  it('resultFromJson accepts a byte order mark', () => {
    const sample = buildSampleResult();
    expect(resultFromJson(`\uFEFF${resultToJson(sample)}`)).toEqual(sample);
  });

  it('resultFromJson names the syntax problem', () => {
    expect(() => resultFromJson('{"schemaVersion": 1,')).toThrow(/^The file is not valid JSON \(.+\)\. Open the \.json file/);
  });

  it('resultFromJson throws ResultJsonError on invalid JSON', () => {
    expect(() => resultFromJson('batch_size_tokens,sequences')).toThrow(ResultJsonError);
  });

  it.each(['', '  \n'])('resultFromJson reports an empty file %j', (text) => {
    expect(() => resultFromJson(text)).toThrow('The file is empty. Open the .json file that the profiler saved.');
  });

  it('resultFromJson reports schema problems', () => {
    const text = resultToJson(buildSampleResult()).replace('"headroom": 0.8', '"headroom": 2');
    expect(() => resultFromJson(text)).toThrow('sweep.headroom: expected a fraction greater than 0 and at most 1, got 2');
  });

  it('ResultJsonError has its own name', () => {
    expect(new ResultJsonError('x').name).toBe('ResultJsonError');
  });
});

describe('resultFileName', () => {
  it('resultFileName names model, backend and UTC time', () => {
    expect(resultFileName(buildSampleResult())).toBe('batch-profile_esm2_t6_8M_webgpu_2026-12-04T20-30-00Z.json');
  });

  it('resultFileName converts an offset time to UTC', () => {
    const result = buildSampleResult();
    result.createdAt = '2026-12-04T22:30:00+02:00';
    expect(resultFileName(result)).toBe('batch-profile_esm2_t6_8M_webgpu_2026-12-04T20-30-00Z.json');
  });

  it.each([
    { id: 'facebook/esm2_t33_650M_UR50D', expected: 'facebook-esm2_t33_650M_UR50D' },
    { id: '../../etc/passwd', expected: 'etc-passwd' },
    { id: 'my model (v2).onnx', expected: 'my-model-v2-.onnx' },
    { id: '///', expected: 'unknown' },
  ])('resultFileName makes the model id $id safe', ({ id, expected }) => {
    const result = buildSampleResult();
    result.model.id = id;
    expect(resultFileName(result)).toBe(`batch-profile_${expected}_webgpu_2026-12-04T20-30-00Z.json`);
  });

  it('resultFileName uses only safe characters', () => {
    const result = buildSampleResult();
    result.model.id = 'a:b*c?"d<e>f|g\\h\u0000i';
    expect(resultFileName(result)).toMatch(/^[A-Za-z0-9._-]+$/);
  });
});

describe('resultToCsv', () => {
  const csv = resultToCsv(buildSampleResult());
  const rows = csv.split('\r\n');

  it('resultToCsv puts units in the header', () => {
    expect(rows[0]).toBe(
      'batch_size_tokens,sequences,tokens,padded_tokens,status,median_ms,p10_ms,p90_ms,runs,' +
        'coefficient_of_variation,relative_standard_error,unstable,sequences_per_second,tokens_per_second,' +
        'real_flops_per_second,padded_flops_per_second,peak_bytes,weight_bytes,runtime_peak_bytes,' +
        'spot_check_max_abs_difference,warmup_ms,message',
    );
  });

  it('resultToCsv writes one row per point', () => {
    // 16 points, the header and the empty string after the final CRLF.
    expect(rows).toHaveLength(18);
    expect(rows[17]).toBe('');
  });

  it('resultToCsv writes numbers in full', () => {
    const sample = buildSampleResult();
    const fields = rows[1].split(',');
    expect(fields[0]).toBe('512');
    expect(fields[5]).toBe(String(sample.points[0].medianMs));
    expect(fields[16]).toBe(String(sample.points[0].peakBytes));
  });

  it('resultToCsv leaves null values empty', () => {
    expect(rows[16]).toBe(
      '8192,28,7980,8643,oom,,,,0,,,,,,,,6981230592,,,,,Failed to allocate a 402653184-byte buffer: out of GPU memory.',
    );
  });

  it('resultToCsv names the sequence unit', () => {
    const result = buildSampleResult();
    result.sweep.unit = 'sequences';
    expect(resultToCsv(result).startsWith('batch_size_sequences,')).toBe(true);
  });

  it.each([
    { message: 'a, b', field: '"a, b"' },
    { message: 'said "no"', field: '"said ""no"""' },
    { message: 'line\nbreak', field: '"line\nbreak"' },
    { message: '=HYPERLINK("x")', field: '"\'=HYPERLINK(""x"")"' },
    { message: '@SUM(A1)', field: "'@SUM(A1)" },
    { message: '-1+2', field: "'-1+2" },
  ])('resultToCsv escapes the message $message', ({ message, field }) => {
    const result = buildSampleResult();
    result.points = [result.points[15]];
    result.points[0].message = message;
    const lastRow = resultToCsv(result).split('\r\n').slice(1).join('\r\n');
    expect(lastRow.endsWith(`,${field}\r\n`)).toBe(true);
  });
});
