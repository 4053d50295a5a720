/**
 * Turns a string, bytes, a Blob or a byte stream into decoded UTF-8 text chunks, gunzipping the input when
 * it starts with the gzip magic bytes. Uses only web streams, so it runs in browsers, workers and Node 20.
 */
import { InvalidFastaError } from './errors';

export type TextInput = ReadableStream<Uint8Array> | Blob | Uint8Array | string;

export interface TextSource {
  /** Decoded text, chunk by chunk. A chunk may end inside a line. */
  chunks: AsyncIterable<string>;
  gzipped: boolean;
}

const GZIP_MAGIC = [0x1f, 0x8b];

/** Compression and archive formats that are recognised only to reject them with a useful message. */
const RECOMPRESS_ADVICE = 'Decompress it first, or recompress it with gzip.';
const UNSUPPORTED_FORMATS: { name: string; magic: number[]; advice: string }[] = [
  { name: 'bzip2', magic: [0x42, 0x5a, 0x68], advice: RECOMPRESS_ADVICE },
  { name: 'xz', magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], advice: RECOMPRESS_ADVICE },
  { name: 'Zstandard', magic: [0x28, 0xb5, 0x2f, 0xfd], advice: RECOMPRESS_ADVICE },
  { name: 'ZIP', magic: [0x50, 0x4b, 0x03, 0x04], advice: 'Extract the FASTA file from the archive first.' },
];

const HEAD_BYTES = Math.max(GZIP_MAGIC.length, ...UNSUPPORTED_FORMATS.map((format) => format.magic.length));

/** Subject for messages: "File 'x.fa'" when the file name is known, else "The input". */
export function describeInput(fileName: string | undefined): string {
  return fileName === undefined ? 'The input' : `File '${fileName}'`;
}

/**
 * Opens `input` as text. Gzip is detected by its magic bytes (1f 8b), never by the file name. A leading
 * byte order mark is dropped. Bytes that are not valid UTF-8 become U+FFFD instead of failing the read.
 */
export async function openTextSource(input: TextInput, fileName?: string): Promise<TextSource> {
  if (typeof input === 'string') {
    return { chunks: stringChunks(input), gzipped: false };
  }

  const { head, stream } = await peekBytes(toByteStream(input), HEAD_BYTES);
  rejectUnsupportedFormat(head, fileName);

  const gzipped = startsWith(head, GZIP_MAGIC);
  if (!gzipped) {
    return { chunks: decodeChunks(stream, fileName, false), gzipped };
  }

  // NOTE: a multi-member gzip file (such as bgzip output) decompresses fully in Node 20. Browsers'
  // DecompressionStream has not been checked here and might stop after the first member or fail.
  // The cast works around the DOM typings, which type the writable side as BufferSource and so reject
  // Uint8Array streams under TypeScript's variance check.
  const gunzip = new DecompressionStream('gzip') as ReadableWritablePair<Uint8Array, Uint8Array>;
  const decompressed = stream.pipeThrough(gunzip);
  return { chunks: decodeChunks(decompressed, fileName, true), gzipped };
}

async function* stringChunks(text: string): AsyncGenerator<string> {
  yield text.startsWith('\uFEFF') ? text.slice(1) : text;
}

function toByteStream(input: ReadableStream<Uint8Array> | Blob | Uint8Array): ReadableStream<Uint8Array> {
  if (input instanceof Uint8Array) {
    return new ReadableStream<Uint8Array>({
      start(controller) {
        if (input.length > 0) controller.enqueue(input);
        controller.close();
      },
    });
  }
  if (input instanceof Blob) {
    return input.stream();
  }
  return input;
}

/**
 * Reads until `byteCount` bytes (or the whole stream, if shorter) are buffered, and returns them with a
 * stream that replays the buffered chunks before the rest of the source.
 */
async function peekBytes(
  source: ReadableStream<Uint8Array>,
  byteCount: number,
): Promise<{ head: Uint8Array; stream: ReadableStream<Uint8Array> }> {
  const reader = source.getReader();
  const buffered: Uint8Array[] = [];
  let bufferedBytes = 0;
  let sourceDone = false;

  while (bufferedBytes < byteCount) {
    const { done, value } = await reader.read();
    if (done) {
      sourceDone = true;
      break;
    }
    if (value.length === 0) continue;
    buffered.push(value);
    bufferedBytes += value.length;
  }

  const head = new Uint8Array(Math.min(byteCount, bufferedBytes));
  let offset = 0;
  for (const chunk of buffered) {
    if (offset >= head.length) break;
    const part = chunk.subarray(0, head.length - offset);
    head.set(part, offset);
    offset += part.length;
  }

  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of buffered) controller.enqueue(chunk);
      if (sourceDone) controller.close();
    },
    async pull(controller) {
      if (sourceDone) return;
      const { done, value } = await reader.read();
      if (done) {
        sourceDone = true;
        controller.close();
      } else {
        controller.enqueue(value);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });

  return { head, stream };
}

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((byte, index) => bytes[index] === byte);
}

function rejectUnsupportedFormat(head: Uint8Array, fileName: string | undefined): void {
  for (const format of UNSUPPORTED_FORMATS) {
    if (startsWith(head, format.magic)) {
      throw new InvalidFastaError(
        `${describeInput(fileName)} is ${format.name === 'xz' ? 'an' : 'a'} ${format.name} file, ` +
          `but only plain or gzip-compressed FASTA can be read. ${format.advice}`,
        { fileName },
      );
    }
  }
}

/**
 * Decodes a byte stream as UTF-8, chunk by chunk. A multi-byte character split across chunks is kept
 * whole by the decoder's streaming mode. Errors from a gzip stream become InvalidFastaError.
 */
async function* decodeChunks(
  stream: ReadableStream<Uint8Array>,
  fileName: string | undefined,
  gzipped: boolean,
): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  const reader = stream.getReader();
  let finished = false;

  try {
    while (true) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (error) {
        if (!gzipped) throw error;
        throw gzipError(error, fileName);
      }
      if (result.done) break;
      if (result.value.includes(0)) throw binaryFileError(fileName);

      const text = decoder.decode(result.value, { stream: true });
      if (text.length > 0) yield text;
    }

    const tail = decoder.decode();
    if (tail.length > 0) yield tail;
    finished = true;
  } finally {
    // The consumer may stop early (for example on a parse error), so release the source.
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/** Builds the error for a binary file: a NUL byte never occurs in FASTA text, but is common in images, archives and BAM. */
function binaryFileError(fileName: string | undefined): InvalidFastaError {
  return new InvalidFastaError(
    `${describeInput(fileName)} is not a text file: it contains NUL bytes. Load a plain or gzip-compressed FASTA file.`,
    { fileName },
  );
}

function gzipError(cause: unknown, fileName: string | undefined): InvalidFastaError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new InvalidFastaError(
    `${describeInput(fileName)} starts like a gzip file but could not be decompressed (${reason}). ` +
      'The file may be truncated or corrupt: check it with `gzip -t`, or load the uncompressed FASTA file.',
    { fileName },
    { cause },
  );
}
