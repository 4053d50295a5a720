/**
 * Cuts DNA sequences into fixed-length chunks, as pipelines such as VirNucPro do before embedding
 * contigs with DNABERT-S. Coordinates are 1-based and inclusive, as in GFF and in samtools regions.
 */
import { InvalidFastaError } from './errors';
import type { FastaRecord } from './fasta';
import { NoticeCollector, formatCount, type InputNotice } from './notices';

/** Chunk lengths in bp that VirNucPro ships models for. Any other length of at least 1 bp is accepted. */
export const DNA_CHUNK_LENGTHS: readonly number[] = Object.freeze([300, 500]);

/**
 * Handling of the piece left at the end of a sequence whose length is not a multiple of the chunk
 * length. With L bp and chunk length S, for L = 1200 and S = 500:
 * - 'overlap': cut ceil(L / S) chunks of exactly S bp, the last one ending at the sequence end, and
 *   spread the overlap over the chunk boundaries (the earlier boundaries take 1 bp more when it does
 *   not divide evenly). 1-500, 351-850, 701-1200.
 * - 'keep': non-overlapping chunks, and the short last piece is a chunk of its own. 1-500, 501-1000,
 *   1001-1200.
 * - 'drop': non-overlapping chunks, and the short last piece is dropped. 1-500, 501-1000.
 * - 'merge': non-overlapping chunks, and the short last piece joins the chunk before it, which can thus
 *   be up to 2S - 1 bp long. 1-500, 501-1200.
 * A sequence of at most S bp is one chunk under every policy but 'drop', which drops it unless it is
 * exactly S bp long.
 */
export type LastChunkPolicy = 'overlap' | 'keep' | 'drop' | 'merge';

export const LAST_CHUNK_POLICIES: readonly LastChunkPolicy[] = Object.freeze(['overlap', 'keep', 'drop', 'merge']);

export interface ChunkOptions {
  /** Chunk length in bp, an integer of at least 1. VirNucPro uses 300 or 500. */
  chunkLength: number;
  /** Handling of the short piece at a sequence end. Defaults to 'overlap'. */
  lastChunk?: LastChunkPolicy;
  /** Chunks shorter than this many bp are dropped after the policy is applied. Defaults to 1 (drop none). */
  minLength?: number;
}

/**
 * Default options: 500 bp chunks under 'overlap'. NOTE: VirNucPro's `split_fasta_chunk` also cuts
 * ceil(L / S) chunks shifted back to overlap, but its integer arithmetic often leaves the last chunk
 * shorter than S (for L = 1001 and S = 500 its chunks are 1-500, 334-833 and 667-1001). 'overlap' makes
 * every chunk exactly S bp, so the chunk count matches VirNucPro's but later chunks often start elsewhere.
 */
export const DEFAULT_CHUNK_OPTIONS: Readonly<Required<ChunkOptions>> = Object.freeze({
  chunkLength: 500,
  lastChunk: 'overlap',
  minLength: 1,
});

/** Position of a chunk in its sequence, 1-based, with both ends included. */
export interface ChunkRange {
  start: number;
  end: number;
}

/** One chunk as a FASTA record, with the record it was cut from and its coordinates there. */
export interface DnaChunk extends FastaRecord {
  /** ID of the record that the chunk was cut from. */
  sourceId: string;
  /** 1-based number of the chunk in its record, as in the ID suffix `_chunk3`. */
  chunkNumber: number;
  /** First base of the chunk in the record, 1-based. */
  start: number;
  /** Last base of the chunk in the record, 1-based and included. */
  end: number;
}

export interface ChunkedDna {
  /** Chunks of all records, in record order and then chunk order. */
  chunks: DnaChunk[];
  notices: InputNotice[];
  /** Pieces dropped by the 'drop' policy or by minLength. */
  droppedPieceCount: number;
  /** Bases in the dropped pieces. */
  droppedBp: number;
  /** Records that gave no chunk at all, because every piece was dropped. */
  unchunkedRecordCount: number;
}

/**
 * Computes the chunk coordinates for a sequence of `lengthBp` bp under `options` (see LastChunkPolicy).
 * Returns an empty list for a sequence of 0 bp. Throws RangeError for invalid options or length.
 */
export function chunkRanges(lengthBp: number, options: ChunkOptions): ChunkRange[] {
  const { chunkLength, lastChunk, minLength } = resolveChunkOptions(options);
  if (!Number.isInteger(lengthBp) || lengthBp < 0) {
    throw new RangeError(`Invalid sequence length ${lengthBp}: expected an integer number of bp of at least 0.`);
  }
  if (lengthBp === 0) return [];

  const ranges =
    lastChunk === 'overlap' ? overlappingRanges(lengthBp, chunkLength) : tiledRanges(lengthBp, chunkLength, lastChunk);
  return ranges.filter((range) => range.end - range.start + 1 >= minLength);
}

/**
 * Cuts every record into chunks (see LastChunkPolicy). Chunk IDs are `<record id>_chunk<n>`, with n
 * counted from 1. Dropped pieces are reported in one notice. Throws RangeError for invalid options, and
 * InvalidFastaError when no record gives a chunk.
 */
export function chunkDna(records: readonly FastaRecord[], options: ChunkOptions): ChunkedDna {
  const resolved = resolveChunkOptions(options);
  const chunks: DnaChunk[] = [];
  let droppedPieceCount = 0;
  let droppedBp = 0;
  let unchunkedRecordCount = 0;

  for (const record of records) {
    const lengthBp = record.sequence.length;
    const ranges = chunkRanges(lengthBp, resolved);

    // Only 'overlap' makes chunks overlap, and under it a dropped piece is the whole sequence, so the
    // kept chunks never cover a base twice when something was dropped.
    const droppedPieces = countDroppedPieces(lengthBp, resolved, ranges.length);
    if (droppedPieces > 0) {
      droppedPieceCount += droppedPieces;
      droppedBp += lengthBp - ranges.reduce((sum, range) => sum + range.end - range.start + 1, 0);
    }
    if (ranges.length === 0) unchunkedRecordCount += 1;

    ranges.forEach((range, index) => {
      const chunkNumber = index + 1;
      const id = `${record.id}_chunk${chunkNumber}`;
      chunks.push({
        id,
        header: `${id} ${record.id}:${range.start}-${range.end}`,
        sequence: record.sequence.slice(range.start - 1, range.end),
        sourceId: record.id,
        chunkNumber,
        start: range.start,
        end: range.end,
      });
    });
  }

  if (chunks.length === 0) {
    throw new InvalidFastaError(noChunkMessage(records.length, resolved));
  }

  const notices = new NoticeCollector();
  if (droppedPieceCount > 0) {
    notices.add({
      level: 'info',
      code: 'chunk-dropped',
      message:
        `Dropped ${formatCount(droppedPieceCount, 'piece')} (${droppedBp} bp in all) ${droppedReason(resolved)}` +
        (unchunkedRecordCount > 0 ? `, so ${formatCount(unchunkedRecordCount, 'record')} gave no chunk.` : '.'),
      count: droppedPieceCount,
    });
  }

  return { chunks, notices: notices.toArray(), droppedPieceCount, droppedBp, unchunkedRecordCount };
}

/** Fills in defaults and checks each option. Throws RangeError naming the invalid option. */
export function resolveChunkOptions(options: ChunkOptions): Required<ChunkOptions> {
  const chunkLength = options.chunkLength;
  const lastChunk = options.lastChunk ?? DEFAULT_CHUNK_OPTIONS.lastChunk;
  const minLength = options.minLength ?? DEFAULT_CHUNK_OPTIONS.minLength;

  if (!Number.isInteger(chunkLength) || chunkLength < 1) {
    throw new RangeError(
      `Invalid chunkLength ${chunkLength}: expected an integer number of bp of at least 1, such as 300 or 500.`,
    );
  }
  if (!LAST_CHUNK_POLICIES.includes(lastChunk)) {
    throw new RangeError(
      `Invalid lastChunk '${String(lastChunk)}': ` +
        `expected one of ${LAST_CHUNK_POLICIES.map((policy) => `'${policy}'`).join(', ')}.`,
    );
  }
  if (!Number.isInteger(minLength) || minLength < 1 || minLength > chunkLength) {
    throw new RangeError(
      `Invalid minLength ${minLength}: expected an integer number of bp from 1 to chunkLength (${chunkLength}).`,
    );
  }
  return { chunkLength, lastChunk, minLength };
}

/** ceil(L / S) chunks of S bp whose overlaps add up to ceil(L / S) × S − L, spread over the boundaries. */
function overlappingRanges(lengthBp: number, chunkLength: number): ChunkRange[] {
  const chunkCount = Math.ceil(lengthBp / chunkLength);
  if (chunkCount === 1) return [{ start: 1, end: lengthBp }];

  const totalOverlap = chunkCount * chunkLength - lengthBp;
  const boundaries = chunkCount - 1;
  const baseOverlap = Math.floor(totalOverlap / boundaries);
  const widerBoundaries = totalOverlap % boundaries;

  const ranges: ChunkRange[] = [];
  let start = 1;
  for (let index = 0; index < chunkCount; index += 1) {
    ranges.push({ start, end: start + chunkLength - 1 });
    const overlap = index < widerBoundaries ? baseOverlap + 1 : baseOverlap;
    start += chunkLength - overlap;
  }
  return ranges;
}

/** Non-overlapping chunks of S bp from the sequence start, with the short last piece handled by `policy`. */
function tiledRanges(lengthBp: number, chunkLength: number, policy: 'keep' | 'drop' | 'merge'): ChunkRange[] {
  const ranges: ChunkRange[] = [];
  const fullChunks = Math.floor(lengthBp / chunkLength);
  for (let index = 0; index < fullChunks; index += 1) {
    ranges.push({ start: index * chunkLength + 1, end: (index + 1) * chunkLength });
  }

  const remainderBp = lengthBp - fullChunks * chunkLength;
  if (remainderBp === 0 || policy === 'drop') return ranges;

  if (policy === 'merge' && ranges.length > 0) {
    ranges[ranges.length - 1].end = lengthBp;
  } else {
    ranges.push({ start: fullChunks * chunkLength + 1, end: lengthBp });
  }
  return ranges;
}

/** Pieces that chunkRanges dropped for one record: the pieces before filtering minus the chunks kept. */
function countDroppedPieces(lengthBp: number, options: Required<ChunkOptions>, keptCount: number): number {
  if (lengthBp === 0) return 0;
  const { chunkLength, lastChunk } = options;
  const fullChunks = Math.floor(lengthBp / chunkLength);
  const hasRemainder = lengthBp % chunkLength !== 0;

  let pieceCount: number;
  if (lastChunk === 'overlap') pieceCount = Math.ceil(lengthBp / chunkLength);
  else if (lastChunk === 'merge') pieceCount = Math.max(1, fullChunks);
  else pieceCount = fullChunks + (hasRemainder ? 1 : 0);
  return pieceCount - keptCount;
}

function droppedReason(options: Required<ChunkOptions>): string {
  const { chunkLength, lastChunk, minLength } = options;
  if (lastChunk === 'drop') {
    return `shorter than the chunk length of ${chunkLength} bp at the ends of sequences, because lastChunk is 'drop'`;
  }
  return `shorter than minLength (${minLength} bp)`;
}

function noChunkMessage(recordCount: number, options: Required<ChunkOptions>): string {
  if (recordCount === 0) return 'No DNA records were given, so there is nothing to cut into chunks.';
  return (
    `None of the ${formatCount(recordCount, 'record')} gave a chunk of at least ${options.minLength} bp ` +
    `with chunkLength ${options.chunkLength} and lastChunk '${options.lastChunk}'. ` +
    "Choose a shorter chunk length, lastChunk 'keep', or a lower minLength."
  );
}
