import { describe, expect, it } from 'vitest';
import {
  DNABERT_CLS_ID,
  DNABERT_PAD_ID,
  DNABERT_SEP_ID,
  DNABERT_VOCAB_SIZE,
  DnaTokenizerLoadError,
  countDnaTokens,
  createEstimatedDnaTokenizer,
  estimateDnaTokens,
  loadDnaTokenizer,
} from '../../src/sequences/dnaTokenizer';
import { CLS_SEP_TEMPLATE, SPECIAL_TOKENS, TINY_MERGES, TINY_VOCAB, tinyTokenizerJson } from './fixtures/tinyTokenizer';

async function loadError(json: string | object): Promise<DnaTokenizerLoadError> {
  try {
    await loadDnaTokenizer(json);
  } catch (error) {
    if (error instanceof DnaTokenizerLoadError) return error;
    throw error;
  }
  throw new Error('Expected loadDnaTokenizer to throw DnaTokenizerLoadError, but it returned.');
}

describe('loadDnaTokenizer encoding', () => {
  // Hand-worked BPE: the merge of lowest rank applies first, and within a rank the leftmost pair first.
  it.each([
    ['ACGT', [1, 12, 2]], // A C G T -> AC G T -> AC GT -> ACGT
    ['ACGTACGT', [1, 12, 12, 2]],
    ['ACGTTTA', [1, 12, 13, 5, 2]], // AC GT T T A -> ACGT TT A
    ['TTT', [1, 13, 8, 2]], // the leftmost T T pair merges first
    ['GTAC', [1, 11, 10, 2]], // A C merges first (rank 0), then G T; GT AC is no merge
    ['ACNGT', [1, 10, 9, 11, 2]], // N splits the sequence into AC, N, GT
    ['A', [1, 5, 2]],
    ['', [1, 2]],
  ])('loadDnaTokenizer encodes %s exactly', async (sequence, expected) => {
    const tokenizer = await loadDnaTokenizer(tinyTokenizerJson());
    expect(Array.from(tokenizer.encode(sequence))).toEqual(expected);
  });

  it('loadDnaTokenizer returns Int32Array ids', async () => {
    const tokenizer = await loadDnaTokenizer(tinyTokenizerJson());
    expect(tokenizer.encode('ACGT')).toBeInstanceOf(Int32Array);
  });

  it('loadDnaTokenizer maps an unknown character to [UNK]', async () => {
    const tokenizer = await loadDnaTokenizer(tinyTokenizerJson());
    expect(Array.from(tokenizer.encode('AXA'))).toEqual([1, 5, 0, 5, 2]);
  });

  it('loadDnaTokenizer counts tokens with [CLS] and [SEP]', async () => {
    const tokenizer = await loadDnaTokenizer(tinyTokenizerJson());
    expect(tokenizer.countTokens('ACGTTTA')).toBe(5);
  });

  it('loadDnaTokenizer labels counts as exact', async () => {
    const tokenizer = await loadDnaTokenizer(tinyTokenizerJson());
    expect(tokenizer.tokenCounts).toBe('exact');
  });

  it('loadDnaTokenizer reads special ids from the file', async () => {
    const tokenizer = await loadDnaTokenizer(tinyTokenizerJson());
    expect({ cls: tokenizer.clsId, sep: tokenizer.sepId, pad: tokenizer.padId }).toEqual({ cls: 1, sep: 2, pad: 3 });
  });

  it('loadDnaTokenizer reports the vocabulary size', async () => {
    const tokenizer = await loadDnaTokenizer(tinyTokenizerJson());
    expect(tokenizer.vocabSize).toBe(14);
  });

  it('loadDnaTokenizer accepts tokenizer.json text', async () => {
    const tokenizer = await loadDnaTokenizer(JSON.stringify(tinyTokenizerJson()));
    expect(Array.from(tokenizer.encode('ACGTTTA'))).toEqual([1, 12, 13, 5, 2]);
  });

  it('loadDnaTokenizer adds [CLS] and [SEP] without a post-processor', async () => {
    const tokenizer = await loadDnaTokenizer(tinyTokenizerJson({ post_processor: null }));
    expect(Array.from(tokenizer.encode('ACGTTTA'))).toEqual([1, 12, 13, 5, 2]);
  });

  it('loadDnaTokenizer counts added [CLS] and [SEP]', async () => {
    const tokenizer = await loadDnaTokenizer(tinyTokenizerJson({ post_processor: null }));
    expect(tokenizer.countTokens('')).toBe(2);
  });
});

describe('loadDnaTokenizer errors', () => {
  it('loadDnaTokenizer rejects text that is not JSON', async () => {
    const error = await loadError('<!doctype html><p>Not found</p>');
    expect(error.message).toMatch(
      /^The tokenizer is not valid JSON \(it starts with '<!doctype html><p>Not found<\/p>'\)/,
    );
  });

  it('loadDnaTokenizer rejects JSON without a model', async () => {
    const error = await loadError({ model_type: 'bert', hidden_size: 768 });
    expect(error.message).toBe(
      'The tokenizer is not a Hugging Face tokenizer.json: it has no "model" entry. ' +
        "Load the model's tokenizer.json, not its config.json or tokenizer_config.json.",
    );
  });

  it('loadDnaTokenizer names the source in messages', async () => {
    const error = await loadDnaTokenizer({}, { sourceName: "File 'config.json'" }).catch((caught: unknown) => caught);
    expect((error as Error).message).toMatch(/^File 'config.json' is not a Hugging Face tokenizer.json/);
  });

  it('loadDnaTokenizer wraps a load failure of the package', async () => {
    const error = await loadError(tinyTokenizerJson({ model: { type: 'NoSuchModel' } }));
    expect(error.message).toMatch(/^The tokenizer could not be loaded as a tokenizer: /);
  });

  it('loadDnaTokenizer rejects a vocabulary without [PAD]', async () => {
    const vocab = { ...TINY_VOCAB };
    delete vocab['[PAD]'];
    const json = tinyTokenizerJson({
      added_tokens: [],
      model: { ...(tinyTokenizerJson().model as object), vocab },
    });
    const error = await loadError(json);
    expect(error.message).toBe(
      'The tokenizer has no [PAD] token, which DNABERT-S input needs. Load the DNABERT-S tokenizer.json.',
    );
  });

  it('loadDnaTokenizer rejects a post-processor without [SEP]', async () => {
    const clsOnly = {
      ...CLS_SEP_TEMPLATE,
      single: CLS_SEP_TEMPLATE.single.slice(0, 2),
    };
    const error = await loadError(tinyTokenizerJson({ post_processor: clsOnly }));
    expect(error.message).toBe(
      "The tokenizer has a post-processor that encodes 'A' as [1, 5], but DNABERT-S expects [CLS] (1), " +
        'the sequence, then [SEP] (2).',
    );
  });
});

describe('estimateDnaTokens', () => {
  it.each([
    [0, 2],
    [1, 3],
    [5, 3],
    [6, 4],
    [300, 62],
    [500, 102],
    [1701, 343],
  ])('estimateDnaTokens gives %i bp %i tokens', (lengthBp, expected) => {
    expect(estimateDnaTokens(lengthBp)).toBe(expected);
  });

  it.each([-1, 1.5, Number.NaN])('estimateDnaTokens rejects %s', (lengthBp) => {
    expect(() => estimateDnaTokens(lengthBp)).toThrow(RangeError);
  });
});

describe('createEstimatedDnaTokenizer', () => {
  const tokenizer = createEstimatedDnaTokenizer();

  it('createEstimatedDnaTokenizer labels counts as estimated', () => {
    expect(tokenizer.tokenCounts).toBe('estimated');
  });

  it('createEstimatedDnaTokenizer uses the DNABERT-S special ids', () => {
    expect([tokenizer.clsId, tokenizer.sepId, tokenizer.padId, tokenizer.vocabSize]).toEqual([
      DNABERT_CLS_ID,
      DNABERT_SEP_ID,
      DNABERT_PAD_ID,
      DNABERT_VOCAB_SIZE,
    ]);
  });

  it.each([
    // ACGTA reads as base-5 digits 0 1 2 3 0: 125 + 50 + 15 = 190, plus the offset 5.
    ['ACGTA', [1, 195, 2]],
    // A final 1 bp piece C has code 1 in the range that starts after the 3125 full pieces.
    ['ACGTAC', [1, 195, 5 + 3125 + 1, 2]],
    // TTTTT is 3 × (625 + 125 + 25 + 5 + 1) = 2343.
    ['TTTTT', [1, 2348, 2]],
    ['', [1, 2]],
  ])('createEstimatedDnaTokenizer encodes %s', (sequence, expected) => {
    expect(Array.from(tokenizer.encode(sequence))).toEqual(expected);
  });

  it('createEstimatedDnaTokenizer gives N the highest full-piece id', () => {
    expect(Array.from(tokenizer.encode('NNNNN'))).toEqual([1, 3129, 2]);
  });

  it('createEstimatedDnaTokenizer tops out at id 3909', () => {
    // A 4 bp final piece of N: offset 3125 + 5 + 25 + 125, code 4 × (125 + 25 + 5 + 1) = 624.
    expect(Array.from(tokenizer.encode('ACGTANNNN'))).toEqual([1, 195, 3909, 2]);
  });

  it('createEstimatedDnaTokenizer matches the estimate for every length', () => {
    for (let lengthBp = 0; lengthBp <= 40; lengthBp += 1) {
      const sequence = 'ACGTN'.repeat(10).slice(0, lengthBp);
      expect(tokenizer.encode(sequence), `${lengthBp} bp`).toHaveLength(estimateDnaTokens(lengthBp));
      expect(tokenizer.countTokens(sequence), `${lengthBp} bp`).toBe(estimateDnaTokens(lengthBp));
    }
  });

  it('createEstimatedDnaTokenizer keeps ids within the vocabulary', () => {
    const ids = Array.from(tokenizer.encode('ACGTNRYacgt-'.repeat(50)));
    expect(Math.min(...ids)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...ids)).toBeLessThan(DNABERT_VOCAB_SIZE);
  });

  it('createEstimatedDnaTokenizer gives the same ids twice', () => {
    const sequence = 'ACGTTGCANNGT'.repeat(20);
    expect(tokenizer.encode(sequence)).toEqual(tokenizer.encode(sequence));
  });

  it('createEstimatedDnaTokenizer gives different pieces different ids', () => {
    const ids = ['AAAAA', 'AAAAC', 'CAAAA', 'AAAA', 'AAA', 'AA', 'A', 'C'].map((piece) => tokenizer.encode(piece)[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('countDnaTokens', () => {
  it('countDnaTokens lists estimated counts per record', () => {
    const records = [{ sequence: 'A'.repeat(500) }, { sequence: 'A'.repeat(300) }];
    expect(countDnaTokens(records, createEstimatedDnaTokenizer())).toEqual([102, 62]);
  });

  it('countDnaTokens lists exact counts per record', async () => {
    const tokenizer = await loadDnaTokenizer(tinyTokenizerJson());
    expect(countDnaTokens([{ sequence: 'ACGTTTA' }, { sequence: 'TTT' }], tokenizer)).toEqual([5, 4]);
  });
});
