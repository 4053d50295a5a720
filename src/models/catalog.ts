/**
 * Built-in model configurations. The app generates each graph at run time from these shapes, with
 * seeded pseudo-random weights, so speed and memory match the published models but outputs do not.
 */

/** ESM-2 encoder shape, without the language-model and contact heads. */
export interface Esm2Config {
  id: string;
  family: 'esm2';
  label: string;
  layers: number;
  hidden: number;
  heads: number;
  /** Inner size of each feed-forward block. */
  ffn: number;
  vocabSize: number;
  /** Residues per sequence without the BOS and EOS tokens. */
  maxResidues: number;
  /** Published encoder parameter count, for display. `parameterCount` in counts.ts computes it from the shapes. */
  parameters: number;
  /** Marks a configuration that exists only for tests and is hidden from the model picker. */
  testOnly?: boolean;
}

/**
 * DNABERT-S encoder shape, without the pooler and the MLM head. DNABERT-S is DNABERT-2 trained further
 * for species-aware embeddings, so both use MosaicBERT layers with ALiBi attention, a gated
 * feed-forward block and no position embeddings.
 */
export interface DnabertConfig {
  id: string;
  family: 'dnabert';
  label: string;
  layers: number;
  hidden: number;
  heads: number;
  /** Inner size of each gated feed-forward block: the input projection is hidden → 2·ffn, the output ffn → hidden. */
  ffn: number;
  vocabSize: number;
  /**
   * Tokens per sequence, [CLS] and [SEP] included. ALiBi sets no architectural limit, so this is the
   * profiler's cut-off, not the model's.
   */
  maxTokens: number;
  /** Published encoder parameter count, for display. `parameterCount` in counts.ts computes it from the shapes. */
  parameters: number;
  /** Marks a configuration that exists only for tests and is hidden from the model picker. */
  testOnly?: boolean;
}

/** Union over model families, discriminated by `family`. */
export type ModelConfig = Esm2Config | DnabertConfig;

export type ModelFamily = ModelConfig['family'];

/** The kind of sequence a model embeds, which decides how its input is read and tokenized. */
export type ModelInputKind = 'protein' | 'dna';

/** Returns the sequence kind that `config` takes: protein for ESM-2, DNA for DNABERT. */
export function modelInputKind(config: ModelConfig): ModelInputKind {
  switch (config.family) {
    case 'esm2':
      return 'protein';
    case 'dnabert':
      return 'dna';
  }
}

/**
 * Special token ids of the DNABERT-2 BPE tokenizer, which DNABERT-S reuses. Its vocabulary starts with
 * [UNK], [CLS], [SEP], [PAD], [MASK] at ids 0 to 4, followed by the DNA merges up to id 4095.
 * NOTE: not checked against the tokenizer.json of zhihan1996/DNABERT-2-117M in this repository. A
 * tokenizer that loads that file should read the ids from it.
 */
export const DNABERT_TOKEN_IDS = Object.freeze({ unk: 0, cls: 1, sep: 2, pad: 3, mask: 4 });

/** Rows of the token type embedding. MosaicBERT keeps BERT's two segment types, and inputs use type 0. */
export const DNABERT_TOKEN_TYPES = 2;

const ESM2_VOCAB_SIZE = 33;
export const ESM2_MAX_RESIDUES = 1022;

function esm2(id: string, label: string, shape: Pick<Esm2Config, 'layers' | 'hidden' | 'heads' | 'ffn' | 'parameters'>): Esm2Config {
  return { id, family: 'esm2', label, vocabSize: ESM2_VOCAB_SIZE, maxResidues: ESM2_MAX_RESIDUES, ...shape };
}

const DNABERT_VOCAB_SIZE = 4096;
/**
 * Default cut-off in tokens. MosaicBERT's config defaults `alibi_starting_size` to 512, the length of the
 * ALiBi table that it precomputes and grows on demand. At an estimated 4 to 5 bases per BPE token,
 * 512 tokens cover about 2 to 2.5 kb of DNA.
 */
export const DNABERT_MAX_TOKENS = 512;

/** Built-in models: the ESM-2 sizes smallest first, then DNABERT-S, then the test-only configurations. */
export const MODEL_CATALOG: readonly ModelConfig[] = Object.freeze([
  esm2('esm2_t6_8M', 'ESM-2 8M (6 layers)', { layers: 6, hidden: 320, heads: 20, ffn: 1280, parameters: 7_408_960 }),
  esm2('esm2_t12_35M', 'ESM-2 35M (12 layers)', { layers: 12, hidden: 480, heads: 20, ffn: 1920, parameters: 33_269_280 }),
  esm2('esm2_t30_150M', 'ESM-2 150M (30 layers)', { layers: 30, hidden: 640, heads: 20, ffn: 2560, parameters: 147_728_000 }),
  esm2('esm2_t33_650M', 'ESM-2 650M (33 layers)', { layers: 33, hidden: 1280, heads: 20, ffn: 5120, parameters: 649_400_320 }),
  esm2('esm2_t36_3B', 'ESM-2 3B (36 layers)', { layers: 36, hidden: 2560, heads: 40, ffn: 10240, parameters: 2_832_442_880 }),
  {
    id: 'dnabert_s',
    family: 'dnabert',
    label: 'DNABERT-S 117M (12 layers)',
    layers: 12,
    hidden: 768,
    heads: 12,
    ffn: 3072,
    vocabSize: DNABERT_VOCAB_SIZE,
    maxTokens: DNABERT_MAX_TOKENS,
    parameters: 116_477_952,
  },
  {
    ...esm2('esm2_tiny', 'ESM-2 tiny (test only)', { layers: 2, hidden: 32, heads: 4, ffn: 64, parameters: 18_208 }),
    testOnly: true,
  },
  {
    // Six heads, not a power of two, so the tests also cover the interleaved ALiBi slopes.
    id: 'dnabert_tiny',
    family: 'dnabert',
    label: 'DNABERT tiny (test only)',
    layers: 2,
    hidden: 48,
    heads: 6,
    ffn: 64,
    vocabSize: 64,
    maxTokens: DNABERT_MAX_TOKENS,
    parameters: 40_992,
    testOnly: true,
  },
]);

/** Error for a model id that is not in `MODEL_CATALOG`. */
export class UnknownModelError extends Error {
  override readonly name = 'UnknownModelError';
  readonly modelId: string;
  readonly validIds: readonly string[];

  constructor(modelId: string, validIds: readonly string[]) {
    super(`Unknown model id "${modelId}". Valid ids: ${validIds.join(', ')}.`);
    this.modelId = modelId;
    this.validIds = validIds;
  }
}

/**
 * Looks up a built-in model by id. Throws `UnknownModelError` when the id is not in the catalog. Every
 * id starts with its family and an underscore (a catalog test checks this), so a literal id such as
 * 'esm2_tiny' types the result as that family's config.
 */
export function getModelConfig(id: `esm2_${string}`): Esm2Config;
export function getModelConfig(id: `dnabert_${string}`): DnabertConfig;
export function getModelConfig(id: string): ModelConfig;
export function getModelConfig(id: string): ModelConfig {
  const config = MODEL_CATALOG.find((candidate) => candidate.id === id);
  if (config === undefined) {
    throw new UnknownModelError(id, MODEL_CATALOG.map((candidate) => candidate.id));
  }
  return config;
}
