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

/** Union over model families, discriminated by `family`. */
export type ModelConfig = Esm2Config;

const ESM2_VOCAB_SIZE = 33;
const ESM2_MAX_RESIDUES = 1022;

function esm2(id: string, label: string, shape: Pick<Esm2Config, 'layers' | 'hidden' | 'heads' | 'ffn' | 'parameters'>): Esm2Config {
  return { id, family: 'esm2', label, vocabSize: ESM2_VOCAB_SIZE, maxResidues: ESM2_MAX_RESIDUES, ...shape };
}

/** Built-in models, smallest first. The test-only `esm2_tiny` comes last. */
export const MODEL_CATALOG: readonly ModelConfig[] = Object.freeze([
  esm2('esm2_t6_8M', 'ESM-2 8M (6 layers)', { layers: 6, hidden: 320, heads: 20, ffn: 1280, parameters: 7_408_960 }),
  esm2('esm2_t12_35M', 'ESM-2 35M (12 layers)', { layers: 12, hidden: 480, heads: 20, ffn: 1920, parameters: 33_269_280 }),
  esm2('esm2_t30_150M', 'ESM-2 150M (30 layers)', { layers: 30, hidden: 640, heads: 20, ffn: 2560, parameters: 147_728_000 }),
  esm2('esm2_t33_650M', 'ESM-2 650M (33 layers)', { layers: 33, hidden: 1280, heads: 20, ffn: 5120, parameters: 649_400_320 }),
  esm2('esm2_t36_3B', 'ESM-2 3B (36 layers)', { layers: 36, hidden: 2560, heads: 40, ffn: 10240, parameters: 2_832_442_880 }),
  {
    ...esm2('esm2_tiny', 'ESM-2 tiny (test only)', { layers: 2, hidden: 32, heads: 4, ffn: 64, parameters: 18_208 }),
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

/** Looks up a built-in model by id. Throws `UnknownModelError` when the id is not in the catalog. */
export function getModelConfig(id: string): ModelConfig {
  const config = MODEL_CATALOG.find((candidate) => candidate.id === id);
  if (config === undefined) {
    throw new UnknownModelError(id, MODEL_CATALOG.map((candidate) => candidate.id));
  }
  return config;
}
