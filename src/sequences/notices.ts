/** A non-fatal finding about the input, shown to the user next to the results. */
export interface InputNotice {
  level: 'info' | 'warning';
  /** Stable identifier of the kind of finding, such as 'empty-record' or 'invalid-residue'. */
  code: string;
  message: string;
  recordId?: string;
  /** 1-based line number in the decompressed FASTA text. */
  line?: number;
  /** 1-based residue position in the record's sequence. */
  position?: number;
  /** Number of records, occurrences or characters that the notice covers, when it covers more than one. */
  count?: number;
}

/** Notices kept per code before the rest are folded into one summary notice. */
export const MAX_NOTICES_PER_CODE = 20;

/**
 * Collects notices and keeps at most `maxPerCode` of each code, so that a file with thousands of bad
 * records gives a readable list. `toArray` appends one summary notice per code that went over the cap.
 */
export class NoticeCollector {
  private readonly kept: InputNotice[] = [];
  private readonly omittedByCode = new Map<string, { level: InputNotice['level']; omitted: number }>();
  private readonly keptCountByCode = new Map<string, number>();

  constructor(private readonly maxPerCode: number = MAX_NOTICES_PER_CODE) {}

  add(notice: InputNotice): void {
    const keptCount = this.keptCountByCode.get(notice.code) ?? 0;
    if (keptCount < this.maxPerCode) {
      this.kept.push(notice);
      this.keptCountByCode.set(notice.code, keptCount + 1);
      return;
    }

    const entry = this.omittedByCode.get(notice.code) ?? { level: notice.level, omitted: 0 };
    entry.omitted += 1;
    this.omittedByCode.set(notice.code, entry);
  }

  toArray(): InputNotice[] {
    const summaries: InputNotice[] = [];
    for (const [code, { level, omitted }] of this.omittedByCode) {
      summaries.push({
        level,
        code,
        message:
          `${omitted} more '${code}' notices are not listed, ` +
          `because only the first ${this.maxPerCode} of each kind are shown.`,
        count: omitted,
      });
    }
    return [...this.kept, ...summaries];
  }
}

/** Formats a count with its noun, such as "1 record" or "3 records". Handles nouns with a plain -s plural only. */
export function formatCount(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
