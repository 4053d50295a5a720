import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InvalidFastaError } from '../../src/sequences/errors';
import { LineSplitter, readFasta, type FastaReadResult } from '../../src/sequences/fasta';
import { MAX_NOTICES_PER_CODE } from '../../src/sequences/notices';

type FastaSource = Parameters<typeof readFasta>[0];

const encoder = new TextEncoder();

/** Creates a byte stream that delivers `bytes` in chunks of `chunkSize` bytes. */
function chunkedStream(bytes: Uint8Array, chunkSize: number): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.slice(offset, offset + chunkSize));
      offset += chunkSize;
    },
  });
}

async function readText(text: string): Promise<FastaReadResult> {
  return readFasta(text);
}

async function readError(source: FastaSource, fileName?: string): Promise<InvalidFastaError> {
  try {
    await readFasta(source, { fileName });
  } catch (error) {
    if (error instanceof InvalidFastaError) return error;
    throw error;
  }
  throw new Error('Expected readFasta to throw InvalidFastaError, but it returned.');
}

function sequencesOf(result: FastaReadResult): Record<string, string> {
  return Object.fromEntries(result.records.map((record) => [record.id, record.sequence]));
}

const MULTI_RECORD = '>sp|P1|A first protein\nMKV\nLLA\n>P2 second\nGGG\n>P3\nWWW\nCC\n';

describe('readFasta line endings', () => {
  it.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['lone CR', '\r'],
  ])('readFasta splits lines when they end with %s', async (_label, lineEnd) => {
    const text = MULTI_RECORD.replaceAll('\n', lineEnd);
    const result = await readText(text);
    expect(sequencesOf(result)).toEqual({ 'sp|P1|A': 'MKVLLA', P2: 'GGG', P3: 'WWWCC' });
  });

  it('readFasta reads a last line without a line break', async () => {
    const result = await readText('>a\nMKV');
    expect(result.records).toEqual([{ id: 'a', header: 'a', sequence: 'MKV' }]);
  });
});

describe('readFasta streaming', () => {
  const text = '\uFEFF>alpha one\r\nMKVL\r\nLA\r\n\r\n; comment\r\n>beta two\rGG\rG\n>gamma ü\nWWW\n';
  const expected = { alpha: 'MKVLLA', beta: 'GGG', gamma: 'WWW' };

  it.each([1, 2, 3, 5, 7, 64])('readFasta gives the same records with %i-byte chunks', async (chunkSize) => {
    const result = await readFasta(chunkedStream(encoder.encode(text), chunkSize));
    expect(sequencesOf(result)).toEqual(expected);
  });

  it('readFasta keeps a multi-byte character split across chunks', async () => {
    const result = await readFasta(chunkedStream(encoder.encode(text), 1));
    expect(result.records[2].header).toBe('gamma ü');
  });

  it('readFasta keeps a CRLF split across chunks as one line end', async () => {
    // With 1-byte chunks every CR arrives apart from its LF. A spurious blank line would not change the
    // records, so the test checks a line number: record 'b' starts on line 3 only if CRLF ends one line.
    const result = await readFasta(chunkedStream(encoder.encode('>a\r\nM\r\n>b\r\n>c\r\nK\r\n'), 1));
    const notice = result.notices.find((item) => item.code === 'empty-record');
    expect(notice?.line).toBe(3);
  });

  const sources: [string, () => FastaSource][] = [
    ['Uint8Array', () => encoder.encode(MULTI_RECORD)],
    ['Blob', () => new Blob([MULTI_RECORD])],
    ['string', () => MULTI_RECORD],
  ];

  it.each(sources)('readFasta reads a %s source', async (_label, makeSource) => {
    const result = await readFasta(makeSource());
    expect(result.records).toHaveLength(3);
  });
});

describe('readFasta LineSplitter', () => {
  it('LineSplitter drops an LF that follows a CR from the previous chunk', () => {
    const splitter = new LineSplitter();
    const lines = [...splitter.push('a\r'), ...splitter.push('\nb\r'), ...splitter.push('c')];
    expect([...lines, splitter.end()]).toEqual(['a', 'b', 'c']);
  });

  it('LineSplitter joins a line split across chunks', () => {
    const splitter = new LineSplitter();
    const lines = [...splitter.push('>hea'), ...splitter.push('der\nMK'), ...splitter.push('V\n')];
    expect([...lines, splitter.end()]).toEqual(['>header', 'MKV', null]);
  });
});

describe('readFasta records', () => {
  it('readFasta ignores a leading byte order mark', async () => {
    const result = await readFasta(encoder.encode('\uFEFF>a\nMKV\n'));
    expect(result.records[0].id).toBe('a');
  });

  it('readFasta ignores a leading byte order mark in a string', async () => {
    const result = await readText('\uFEFF>a\nMKV\n');
    expect(result.records[0].id).toBe('a');
  });

  it('readFasta skips blank lines and comment lines', async () => {
    const result = await readText('; file comment\n\n>a\n\nMK\n; inner comment\n  \nV\n');
    expect(sequencesOf(result)).toEqual({ a: 'MKV' });
  });

  it('readFasta opens a record only at a line-initial >', async () => {
    const result = await readText('>a\nMK>V\n >b\n');
    expect(result.records).toEqual([{ id: 'a', header: 'a', sequence: 'MK>V>B' }]);
  });

  it('readFasta takes the first header word as ID', async () => {
    const result = await readText('>  sp|P69905|HBA_HUMAN Hemoglobin subunit alpha\tOS=Homo sapiens \nMVL\n');
    expect(result.records[0].id).toBe('sp|P69905|HBA_HUMAN');
  });

  it('readFasta keeps the whole trimmed header', async () => {
    const result = await readText('>  sp|P69905|HBA_HUMAN Hemoglobin subunit alpha\tOS=Homo sapiens \nMVL\n');
    expect(result.records[0].header).toBe('sp|P69905|HBA_HUMAN Hemoglobin subunit alpha\tOS=Homo sapiens');
  });

  it('readFasta removes whitespace inside sequence lines', async () => {
    const result = await readText('>a\nMKV LLA\tGG\u00a0W  \n  CC\n');
    expect(result.records[0].sequence).toBe('MKVLLAGGWCC');
  });

  it('readFasta names a record without ID by its position', async () => {
    const result = await readText('>a\nMK\n>\nVV\n');
    expect(result.records[1].id).toBe('record_2');
  });

  it('readFasta warns when a header has no ID', async () => {
    const result = await readText('>a\nMK\n>\nVV\n');
    expect(result.notices).toContainEqual(expect.objectContaining({ code: 'missing-id', line: 3 }));
  });

  it('readFasta reports gzipped false for plain text', async () => {
    const result = await readText(MULTI_RECORD);
    expect(result.gzipped).toBe(false);
  });
});

describe('readFasta empty records', () => {
  const text = '>a\nMK\n>empty1\n>b\nVV\n>empty2 description\n\n';

  it('readFasta skips empty records', async () => {
    const result = await readText(text);
    expect(result.records.map((record) => record.id)).toEqual(['a', 'b']);
  });

  it('readFasta counts empty records', async () => {
    const result = await readText(text);
    expect(result.emptyRecordCount).toBe(2);
  });

  it('readFasta warns about each empty record', async () => {
    const result = await readText(text);
    const notices = result.notices.filter((notice) => notice.code === 'empty-record');
    expect(notices.map((notice) => [notice.level, notice.recordId, notice.line])).toEqual([
      ['warning', 'empty1', 3],
      ['warning', 'empty2', 6],
    ]);
  });
});

describe('readFasta duplicate IDs', () => {
  const text = '>x first\nMK\n>y\nVV\n>x second\nGG\n>x third\nLL\n>y\nAA\n>z\nCC\n';

  it('readFasta keeps every record with a duplicate ID', async () => {
    const result = await readText(text);
    expect(result.records).toHaveLength(6);
  });

  it('readFasta lists each duplicate ID once', async () => {
    const result = await readText(text);
    expect(result.duplicateIds).toEqual(['x', 'y']);
  });

  it('readFasta warns about duplicate IDs with their counts', async () => {
    const result = await readText(text);
    const notices = result.notices.filter((notice) => notice.code === 'duplicate-id');
    expect(notices.map((notice) => [notice.recordId, notice.count])).toEqual([
      ['x', 3],
      ['y', 2],
    ]);
  });
});

describe('readFasta lower case', () => {
  const text = '>a\nmkv\n>b\nMKV\n>c\nMkV\nll\n';

  it('readFasta upper-cases lower-case residues', async () => {
    const result = await readText(text);
    expect(sequencesOf(result)).toEqual({ a: 'MKV', b: 'MKV', c: 'MKVLL' });
  });

  it('readFasta counts records with lower case', async () => {
    const result = await readText(text);
    expect(result.lowercaseRecordCount).toBe(2);
  });

  it('readFasta gives one info notice for lower case', async () => {
    const result = await readText(text);
    const notices = result.notices.filter((notice) => notice.code === 'lowercase-converted');
    expect(notices).toEqual([expect.objectContaining({ level: 'info', count: 2 })]);
  });

  it('readFasta leaves non-ASCII letters as they are', async () => {
    const result = await readText('>a\nmkß\n');
    expect(result.records[0].sequence).toBe('MKß');
  });
});

describe('readFasta invalid input', () => {
  it('readFasta rejects sequence text before the first header', async () => {
    const error = await readError('\n; comment\nMKVLLA\n>a\nMK\n', 'proteins.fa');
    expect(error.message).toContain("A FASTA file must start with a '>' header line");
  });

  it('readFasta names the line of text before the first header', async () => {
    const error = await readError('\n; comment\nMKVLLA\n>a\nMK\n', 'proteins.fa');
    expect(error.details).toEqual({ fileName: 'proteins.fa', line: 3 });
  });

  it('readFasta suggests converting a FASTQ file', async () => {
    const error = await readError('@read1\nACGT\n+\nIIII\n');
    expect(error.message).toContain('The file looks like FASTQ: convert it to FASTA first.');
  });

  it.each([
    ['empty text', ''],
    ['blank lines', '\n\n  \r\n'],
    ['comments only', '; nothing here\n;\n'],
  ])('readFasta rejects input with %s', async (_label, text) => {
    const error = await readError(text, 'empty.fa');
    expect(error.message).toBe(
      "File 'empty.fa' contains no FASTA record: expected a header line starting with '>' followed by sequence lines.",
    );
  });

  it('readFasta rejects input whose records are all empty', async () => {
    const error = await readError('>a\n>b\n');
    expect(error.message).toContain('all 2 records have a header but no sequence lines');
  });

  it('readFasta uses the name of a File in messages', async () => {
    const error = await readError(new File(['MKV\n'], 'upload.fasta'));
    expect(error.details.fileName).toBe('upload.fasta');
  });

  it.each([
    ['bzip2', [0x42, 0x5a, 0x68, 0x39, 0x31, 0x41]],
    ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
    ['Zstandard', [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x00]],
    ['ZIP', [0x50, 0x4b, 0x03, 0x04, 0x14, 0x00]],
  ])('readFasta rejects a %s file by name', async (format, magic) => {
    const error = await readError(new Uint8Array([...magic, 0x00, 0x01]), 'proteins.bin');
    expect(error.message).toContain(`is ${format === 'xz' ? 'an' : 'a'} ${format} file`);
  });
});

describe('readFasta gzip', () => {
  const gzipped = new Uint8Array(gzipSync(MULTI_RECORD));

  it('readFasta decompresses gzip input', async () => {
    const result = await readFasta(gzipped);
    expect(sequencesOf(result)).toEqual({ 'sp|P1|A': 'MKVLLA', P2: 'GGG', P3: 'WWWCC' });
  });

  it('readFasta reports gzipped true for gzip input', async () => {
    const result = await readFasta(gzipped);
    expect(result.gzipped).toBe(true);
  });

  it('readFasta detects gzip when the magic bytes arrive in separate chunks', async () => {
    const result = await readFasta(chunkedStream(gzipped, 1));
    expect(result.records).toHaveLength(3);
  });

  it('readFasta detects gzip by content, not by file name', async () => {
    const result = await readFasta(new File([gzipped], 'proteins.fasta'));
    expect(result.gzipped).toBe(true);
  });

  it('readFasta reads concatenated gzip members', async () => {
    const twoMembers = new Uint8Array([...gzipSync('>a\nMK\n'), ...gzipSync('>b\nVV\n')]);
    const result = await readFasta(twoMembers);
    expect(sequencesOf(result)).toEqual({ a: 'MK', b: 'VV' });
  });

  it.each([
    ['truncated', () => gzipped.slice(0, gzipped.length - 6)],
    ['corrupt', () => gzipped.map((byte, index) => (index >= 10 && index < 16 ? byte ^ 0xff : byte))],
    ['not deflate', () => new Uint8Array([0x1f, 0x8b, ...encoder.encode('>a\nMK\n')])],
  ])('readFasta rejects %s gzip input clearly', async (_label, makeBytes) => {
    const error = await readError(makeBytes(), 'proteins.fa.gz');
    expect(error.message).toMatch(/^File 'proteins\.fa\.gz' starts like a gzip file but could not be decompressed/);
  });
});

describe('readFasta notice cap', () => {
  const emptyRecords = Array.from({ length: 50 }, (_, index) => `>empty${index}\n`).join('');
  const text = `${emptyRecords}>kept\nMKV\n`;

  it('readFasta keeps only the first notices of one code', async () => {
    const result = await readText(text);
    const listed = result.notices.filter((notice) => notice.code === 'empty-record' && notice.recordId);
    expect(listed).toHaveLength(MAX_NOTICES_PER_CODE);
  });

  it('readFasta summarises the notices left out', async () => {
    const result = await readText(text);
    const summary = result.notices.find((notice) => notice.code === 'empty-record' && !notice.recordId);
    expect(summary?.count).toBe(50 - MAX_NOTICES_PER_CODE);
  });

  it('readFasta still counts every empty record', async () => {
    const result = await readText(text);
    expect(result.emptyRecordCount).toBe(50);
  });
});

describe('readFasta on binary input', () => {
  it('readFasta rejects a file with NUL bytes as not text', async () => {
    const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d]);

    await expect(readFasta(bytes, { fileName: 'image.png' })).rejects.toThrow("is not a text file");
  });
});
