/**
 * Streaming FASTA reader. It checks the file structure only, never the alphabet, so that protein and DNA
 * inputs share it. The alphabet check lives with each model's preparation step (see `protein.ts`).
 */
import { InvalidFastaError } from './errors';
import { NoticeCollector, formatCount, type InputNotice } from './notices';
import { describeInput, openTextSource, type TextInput } from './textSource';

export type { InputNotice } from './notices';

export interface FastaRecord {
  /** First whitespace-separated word of the header. */
  id: string;
  /** Whole header line without the leading '>', trimmed. */
  header: string;
  /** Upper-case residues with all whitespace removed. */
  sequence: string;
}

export interface FastaReadResult {
  /** Non-empty records in file order. Records with a duplicate ID are all kept. */
  records: FastaRecord[];
  notices: InputNotice[];
  emptyRecordCount: number;
  /** Each ID that occurs in more than one record, once, in order of first occurrence. */
  duplicateIds: string[];
  lowercaseRecordCount: number;
  gzipped: boolean;
}

export interface ReadFastaOptions {
  /** Name shown in messages and error details. A File's own name is used when this is absent. */
  fileName?: string;
}

/** Header text, first line and sequence lines of the record being read. */
interface OpenRecord {
  id: string;
  header: string;
  line: number;
  parts: string[];
  lowercase: boolean;
}

/**
 * Reads FASTA records from text, bytes, a Blob or a byte stream, chunk by chunk.
 *
 * LF, CRLF and a lone CR end a line. Blank lines and lines starting with ';' are skipped. Only a '>' at
 * the start of a line opens a record. Empty records are skipped, and lower case is upper-cased, with a
 * notice for each. Throws InvalidFastaError for sequence text before the first header, for input with
 * no non-empty record, and for corrupt gzip or unsupported compression.
 */
export async function readFasta(source: TextInput, options: ReadFastaOptions = {}): Promise<FastaReadResult> {
  const fileName = options.fileName ?? fileNameOf(source);
  const text = await openTextSource(source, fileName);
  const parser = new FastaParser(fileName);
  const splitter = new LineSplitter();

  for await (const chunk of text.chunks) {
    for (const line of splitter.push(chunk)) parser.addLine(line);
  }
  const lastLine = splitter.end();
  if (lastLine !== null) parser.addLine(lastLine);

  return { ...parser.finish(), gzipped: text.gzipped };
}

function fileNameOf(source: TextInput): string | undefined {
  if (source instanceof Blob && 'name' in source && typeof source.name === 'string' && source.name !== '') {
    return source.name;
  }
  return undefined;
}

/**
 * Splits text chunks into lines. A line may span chunks, and a CRLF pair split across two chunks still
 * ends one line, because a CR at the end of a chunk makes the splitter drop an LF at the start of the next.
 */
export class LineSplitter {
  private partial = '';
  private skipLeadingLf = false;

  push(text: string): string[] {
    const lines: string[] = [];
    let start = 0;
    if (text.length > 0 && this.skipLeadingLf) {
      if (text.charCodeAt(0) === 0x0a) start = 1;
      this.skipLeadingLf = false;
    }

    const lineEnd = /\r\n?|\n/g;
    lineEnd.lastIndex = start;
    let match: RegExpExecArray | null;
    while ((match = lineEnd.exec(text)) !== null) {
      lines.push(this.partial + text.slice(start, match.index));
      this.partial = '';
      start = match.index + match[0].length;
      if (match[0] === '\r' && start === text.length) this.skipLeadingLf = true;
    }

    this.partial += text.slice(start);
    return lines;
  }

  /** Returns the unterminated last line, or null when the text ended with a line break. */
  end(): string | null {
    const last = this.partial;
    this.partial = '';
    return last.length > 0 ? last : null;
  }
}

/** Turns lines into records and notices. Line numbers count from 1 in the decompressed text. */
class FastaParser {
  private readonly records: FastaRecord[] = [];
  private readonly notices = new NoticeCollector();
  private readonly occurrencesById = new Map<string, number>();
  private current: OpenRecord | null = null;
  private lineNumber = 0;
  private headerCount = 0;
  private emptyRecordCount = 0;
  private lowercaseRecordCount = 0;

  constructor(private readonly fileName: string | undefined) {}

  addLine(line: string): void {
    this.lineNumber += 1;

    if (line.startsWith('>')) {
      this.closeRecord();
      this.openRecord(line.slice(1).trim());
      return;
    }
    if (line.startsWith(';')) return;

    // Most sequence lines contain no whitespace, and the test is cheaper than a replace.
    const residues = /\s/.test(line) ? line.replace(/\s+/g, '') : line;
    if (residues.length === 0) return;

    if (this.current === null) {
      throw new InvalidFastaError(
        `${describeInput(this.fileName)} has sequence text before the first header, on line ${this.lineNumber} ` +
          `(starting '${preview(residues)}'). A FASTA file must start with a '>' header line.` +
          (line.startsWith('@') ? ' The file looks like FASTQ: convert it to FASTA first.' : ''),
        { fileName: this.fileName, line: this.lineNumber },
      );
    }

    if (/[a-z]/.test(residues)) {
      this.current.lowercase = true;
      this.current.parts.push(residues.replace(/[a-z]+/g, (run) => run.toUpperCase()));
    } else {
      this.current.parts.push(residues);
    }
  }

  finish(): Omit<FastaReadResult, 'gzipped'> {
    this.closeRecord();

    if (this.records.length === 0) {
      throw new InvalidFastaError(this.noRecordMessage(), { fileName: this.fileName });
    }

    const duplicateIds: string[] = [];
    for (const [id, occurrences] of this.occurrencesById) {
      if (occurrences < 2) continue;
      duplicateIds.push(id);
      this.notices.add({
        level: 'warning',
        code: 'duplicate-id',
        message: `ID '${id}' occurs in ${occurrences} records. All of them are kept, so results by ID are ambiguous.`,
        recordId: id,
        count: occurrences,
      });
    }

    if (this.lowercaseRecordCount > 0) {
      this.notices.add({
        level: 'info',
        code: 'lowercase-converted',
        message:
          `${formatCount(this.lowercaseRecordCount, 'record')} contained lower-case letters, ` +
          'which were converted to upper case.',
        count: this.lowercaseRecordCount,
      });
    }

    return {
      records: this.records,
      notices: this.notices.toArray(),
      emptyRecordCount: this.emptyRecordCount,
      duplicateIds,
      lowercaseRecordCount: this.lowercaseRecordCount,
    };
  }

  private openRecord(header: string): void {
    this.headerCount += 1;
    let id = header.split(/\s+/, 1)[0];
    if (id === '') {
      id = `record_${this.headerCount}`;
      this.notices.add({
        level: 'warning',
        code: 'missing-id',
        message: `The header on line ${this.lineNumber} has no ID, so the record is named '${id}'.`,
        recordId: id,
        line: this.lineNumber,
      });
    }
    this.current = { id, header, line: this.lineNumber, parts: [], lowercase: false };
  }

  private closeRecord(): void {
    const record = this.current;
    if (record === null) return;
    this.current = null;

    const sequence = record.parts.join('');
    if (sequence.length === 0) {
      this.emptyRecordCount += 1;
      this.notices.add({
        level: 'warning',
        code: 'empty-record',
        message: `Record '${record.id}' (line ${record.line}) has no sequence and is skipped.`,
        recordId: record.id,
        line: record.line,
      });
      return;
    }

    if (record.lowercase) this.lowercaseRecordCount += 1;
    this.occurrencesById.set(record.id, (this.occurrencesById.get(record.id) ?? 0) + 1);
    this.records.push({ id: record.id, header: record.header, sequence });
  }

  private noRecordMessage(): string {
    const subject = describeInput(this.fileName);
    if (this.emptyRecordCount > 0) {
      const recordsPhrase =
        this.emptyRecordCount === 1 ? 'its only record has' : `all ${this.emptyRecordCount} records have`;
      return (
        `${subject} contains no FASTA record with a sequence: ${recordsPhrase} a header but no sequence lines. ` +
        'Add the sequence lines below each header.'
      );
    }
    return (
      `${subject} contains no FASTA record: expected a header line starting with '>' followed by sequence lines.`
    );
  }
}

/** First characters of a line, for error messages. */
function preview(text: string): string {
  const maxChars = 20;
  return text.length > maxChars ? `${text.slice(0, maxChars)}...` : text;
}
