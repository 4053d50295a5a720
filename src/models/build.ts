/**
 * Builds the generated ONNX graph of any built-in model, choosing the builder by model family.
 */
import type { ModelConfig } from './catalog';
import { buildDnabertModel } from './dnabertGraph';
import { buildEsm2Model } from './esm2Graph';
import type { BuildModelOptions, BuiltModel } from './generatedModel';

export type { BuildModelOptions, BuiltModel } from './generatedModel';

/** Builds `config` with its family's builder. Throws RangeError when the shapes cannot form the graph. */
export function buildModel(config: ModelConfig, options: BuildModelOptions = {}): BuiltModel {
  switch (config.family) {
    case 'esm2':
      return buildEsm2Model(config, options);
    case 'dnabert':
      return buildDnabertModel(config, options);
  }
}
