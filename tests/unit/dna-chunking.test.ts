import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CHUNK_OPTIONS,
  DNA_CHUNK_LENGTHS,
  chunkDna,
  chunkRanges,
  type ChunkOptions,
  type LastChunkPolicy,
} from '../../src/sequences/chunking';
import { InvalidFastaError } from '../../src/sequences/errors';
import type { FastaRecord } from '../../src/sequences/fasta';

const POLICIES: LastChunkPolicy[] = ['overlap', 'keep', 'drop', 'merge'];

function record(id: string, sequence: string): FastaRecord {
  return { id, header: `${id} test contig`, sequence };
}

/** A sequence of `length` bp that repeats ACGT, so the base at each position follows from the position. */
function dna(length: number): string {
  return 'ACGT'.repeat(Math.ceil(length / 4)).slice(0, length);
}

function ranges(lengthBp: number, options: ChunkOptions): string[] {
  return chunkRanges(lengthBp, options).map((range) => `${range.start}-${range.end}`);
}

describe('chunking defaults', () => {
  it('DNA_CHUNK_LENGTHS lists 300 and 500 bp', () => {
    expect(DNA_CHUNK_LENGTHS).toEqual([300, 500]);
  });

  it('DEFAULT_CHUNK_OPTIONS overlap 500 bp chunks', () => {
    expect(DEFAULT_CHUNK_OPTIONS).toEqual({ chunkLength: 500, lastChunk: 'overlap', minLength: 1 });
  });

  it('chunkRanges defaults to overlap', () => {
    expect(ranges(1200, { chunkLength: 500 })).toEqual(['1-500', '351-850', '701-1200']);
  });
});

describe('chunkRanges by policy', () => {
  it.each([
    ['overlap', ['1-500', '351-850', '701-1200']],
    ['keep', ['1-500', '501-1000', '1001-1200']],
    ['drop', ['1-500', '501-1000']],
    ['merge', ['1-500', '501-1200']],
  ] as const)('chunkRanges cuts 1200 bp under %s', (lastChunk, expected) => {
    expect(ranges(1200, { chunkLength: 500, lastChunk })).toEqual(expected);
  });

  it.each(POLICIES)('chunkRanges tiles an exact multiple under %s', (lastChunk) => {
    expect(ranges(1000, { chunkLength: 500, lastChunk })).toEqual(['1-500', '501-1000']);
  });

  it.each([
    ['overlap', ['1-300']],
    ['keep', ['1-300']],
    ['drop', []],
    ['merge', ['1-300']],
  ] as const)('chunkRanges handles a sequence shorter than a chunk under %s', (lastChunk, expected) => {
    expect(ranges(300, { chunkLength: 500, lastChunk })).toEqual(expected);
  });

  it.each(POLICIES)('chunkRanges returns nothing for 0 bp under %s', (lastChunk) => {
    expect(chunkRanges(0, { chunkLength: 500, lastChunk })).toEqual([]);
  });

  it('chunkRanges merges a 1 bp remainder', () => {
    expect(ranges(1001, { chunkLength: 500, lastChunk: 'merge' })).toEqual(['1-500', '501-1001']);
  });

  it('chunkRanges keeps a 1 bp remainder', () => {
    expect(ranges(1001, { chunkLength: 500, lastChunk: 'keep' })).toEqual(['1-500', '501-1000', '1001-1001']);
  });

  it('chunkRanges cuts 1 bp chunks', () => {
    expect(ranges(3, { chunkLength: 1 })).toEqual(['1-1', '2-2', '3-3']);
  });
});

describe('chunkRanges overlap', () => {
  it('chunkRanges gives the earlier boundary the extra base', () => {
    // 3 chunks of 500 bp over 1001 bp overlap by 499 bp in all: 250 at the first boundary, 249 at the second.
    expect(ranges(1001, { chunkLength: 500 })).toEqual(['1-500', '251-750', '502-1001']);
  });

  it('chunkRanges overlaps one base for one base short', () => {
    expect(ranges(999, { chunkLength: 500 })).toEqual(['1-500', '500-999']);
  });

  it('chunkRanges cuts 300 bp chunks with overlap', () => {
    // ceil(700 / 300) = 3 chunks, 200 bp of overlap split 100 and 100.
    expect(ranges(700, { chunkLength: 300 })).toEqual(['1-300', '201-500', '401-700']);
  });

  it('chunkRanges overlap chunks all have the chunk length', () => {
    for (const chunkLength of [1, 7, 300, 500]) {
      for (const lengthBp of [chunkLength, chunkLength + 1, 2 * chunkLength - 1, 5 * chunkLength + 3, 1777]) {
        if (lengthBp < chunkLength) continue;
        const lengths = chunkRanges(lengthBp, { chunkLength }).map((range) => range.end - range.start + 1);
        expect(new Set(lengths), `${lengthBp} bp in ${chunkLength} bp chunks`).toEqual(new Set([chunkLength]));
      }
    }
  });

  it('chunkRanges overlap covers the sequence end to end', () => {
    for (const lengthBp of [501, 999, 1001, 1499, 1777, 12_345]) {
      const cut = chunkRanges(lengthBp, { chunkLength: 500 });
      expect(cut[0].start, `${lengthBp} bp`).toBe(1);
      expect(cut[cut.length - 1].end, `${lengthBp} bp`).toBe(lengthBp);
      expect(cut, `${lengthBp} bp`).toHaveLength(Math.ceil(lengthBp / 500));
    }
  });

  it('chunkRanges overlap leaves no gap between chunks', () => {
    for (const lengthBp of [501, 999, 1001, 1777, 12_345]) {
      const cut = chunkRanges(lengthBp, { chunkLength: 500 });
      const gaps = cut.slice(1).filter((range, index) => range.start > cut[index].end + 1);
      expect(gaps, `${lengthBp} bp`).toEqual([]);
    }
  });

  it('chunkRanges overlap spreads overlaps within 1 bp', () => {
    const cut = chunkRanges(12_345, { chunkLength: 500 });
    const overlaps = cut.slice(1).map((range, index) => cut[index].end - range.start + 1);
    expect(Math.max(...overlaps) - Math.min(...overlaps)).toBeLessThanOrEqual(1);
  });
});

describe('chunkRanges minLength', () => {
  it('chunkRanges drops a kept remainder under minLength', () => {
    expect(ranges(1200, { chunkLength: 500, lastChunk: 'keep', minLength: 201 })).toEqual(['1-500', '501-1000']);
  });

  it('chunkRanges keeps a remainder of exactly minLength', () => {
    expect(ranges(1200, { chunkLength: 500, lastChunk: 'keep', minLength: 200 })).toHaveLength(3);
  });

  it('chunkRanges drops a short sequence under minLength', () => {
    expect(ranges(100, { chunkLength: 500, minLength: 150 })).toEqual([]);
  });
});

describe('chunkRanges validation', () => {
  it.each([
    [{ chunkLength: 0 }, 'Invalid chunkLength 0'],
    [{ chunkLength: 2.5 }, 'Invalid chunkLength 2.5'],
    [{ chunkLength: Number.NaN }, 'Invalid chunkLength NaN'],
    [{ chunkLength: 500, lastChunk: 'pad' as LastChunkPolicy }, "Invalid lastChunk 'pad'"],
    [{ chunkLength: 500, minLength: 0 }, 'Invalid minLength 0'],
    [{ chunkLength: 500, minLength: 501 }, 'Invalid minLength 501'],
  ])('chunkRanges rejects %o', (options, message) => {
    expect(() => chunkRanges(1000, options)).toThrow(RangeError);
    expect(() => chunkRanges(1000, options)).toThrow(message);
  });

  it('chunkRanges lists the valid policies', () => {
    expect(() => chunkRanges(1000, { chunkLength: 500, lastChunk: 'pad' as LastChunkPolicy })).toThrow(
      "Invalid lastChunk 'pad': expected one of 'overlap', 'keep', 'drop', 'merge'.",
    );
  });

  it.each([-1, 1.5])('chunkRanges rejects sequence length %s', (lengthBp) => {
    expect(() => chunkRanges(lengthBp, { chunkLength: 500 })).toThrow(RangeError);
  });
});

describe('chunkDna', () => {
  const records = [record('contig1', dna(1200)), record('contig2', dna(300))];

  it('chunkDna names chunks after their record', () => {
    const { chunks } = chunkDna(records, { chunkLength: 500, lastChunk: 'keep' });
    expect(chunks.map((chunk) => chunk.id)).toEqual([
      'contig1_chunk1',
      'contig1_chunk2',
      'contig1_chunk3',
      'contig2_chunk1',
    ]);
  });

  it('chunkDna keeps source and coordinates', () => {
    const { chunks } = chunkDna(records, { chunkLength: 500, lastChunk: 'keep' });
    expect(chunks[2]).toMatchObject({ sourceId: 'contig1', chunkNumber: 3, start: 1001, end: 1200 });
  });

  it('chunkDna writes coordinates into the header', () => {
    const { chunks } = chunkDna(records, { chunkLength: 500 });
    expect(chunks[1].header).toBe('contig1_chunk2 contig1:351-850');
  });

  it('chunkDna cuts the sequence at the coordinates', () => {
    const sequence = `${'A'.repeat(500)}${'C'.repeat(500)}${'G'.repeat(200)}`;
    const { chunks } = chunkDna([record('x', sequence)], { chunkLength: 500, lastChunk: 'keep' });
    expect(chunks.map((chunk) => chunk.sequence)).toEqual(['A'.repeat(500), 'C'.repeat(500), 'G'.repeat(200)]);
  });

  it('chunkDna cuts overlapping chunks at their coordinates', () => {
    const sequence = dna(1200);
    const { chunks } = chunkDna([record('x', sequence)], { chunkLength: 500 });
    expect(chunks[1].sequence).toBe(sequence.slice(350, 850));
  });

  it('chunkDna merges the remainder into the last chunk', () => {
    const { chunks } = chunkDna(records, { chunkLength: 500, lastChunk: 'merge' });
    expect(chunks.map((chunk) => chunk.sequence.length)).toEqual([500, 700, 300]);
  });

  it('chunkDna gives no notice when nothing is dropped', () => {
    expect(chunkDna(records, { chunkLength: 500 }).notices).toEqual([]);
  });

  it('chunkDna counts pieces dropped by the drop policy', () => {
    const result = chunkDna(records, { chunkLength: 500, lastChunk: 'drop' });
    expect(result).toMatchObject({ droppedPieceCount: 2, droppedBp: 500, unchunkedRecordCount: 1 });
  });

  it('chunkDna reports dropped pieces in one notice', () => {
    const result = chunkDna(records, { chunkLength: 500, lastChunk: 'drop' });
    expect(result.notices).toEqual([
      {
        level: 'info',
        code: 'chunk-dropped',
        message:
          'Dropped 2 pieces (500 bp in all) shorter than the chunk length of 500 bp at the ends of sequences, ' +
          "because lastChunk is 'drop', so 1 record gave no chunk.",
        count: 2,
      },
    ]);
  });

  it('chunkDna reports pieces dropped by minLength', () => {
    const result = chunkDna(records, { chunkLength: 500, lastChunk: 'keep', minLength: 250 });
    expect(result.notices[0].message).toBe('Dropped 1 piece (200 bp in all) shorter than minLength (250 bp).');
  });

  it('chunkDna counts a short sequence dropped under overlap', () => {
    const result = chunkDna(records, { chunkLength: 500, minLength: 400 });
    expect(result).toMatchObject({ droppedPieceCount: 1, droppedBp: 300, unchunkedRecordCount: 1 });
  });

  it('chunkDna rejects input that gives no chunk', () => {
    const call = () => chunkDna([record('short', dna(100))], { chunkLength: 500, lastChunk: 'drop' });
    expect(call).toThrow(InvalidFastaError);
    expect(call).toThrow(
      "None of the 1 record gave a chunk of at least 1 bp with chunkLength 500 and lastChunk 'drop'. " +
        "Choose a shorter chunk length, lastChunk 'keep', or a lower minLength.",
    );
  });

  it('chunkDna rejects an empty record list', () => {
    expect(() => chunkDna([], { chunkLength: 500 })).toThrow('No DNA records were given');
  });
});
