/** Assembles the result document of a finished (or cancelled) sweep. */
import { SCHEMA_VERSION, type EnvironmentReport, type InputReport, type ModelReport, type PointResult, type ProfileResult, type SweepReport } from './result';
import { recommendBatchSize } from '../profiling/recommend';

export interface AssembleParts {
  appVersion: string;
  onnxruntimeWebVersion: string;
  environment: EnvironmentReport;
  model: ModelReport;
  input: InputReport;
  sweep: SweepReport;
  points: PointResult[];
  createdAt?: Date;
}

export function assembleResult(parts: AssembleParts): ProfileResult {
  const recommendation = recommendBatchSize(parts.points, {
    unit: parts.sweep.unit,
    step: parts.sweep.step,
    min: parts.sweep.min,
    headroom: parts.sweep.headroom,
    cancelled: parts.sweep.cancelled,
  });
  return {
    schemaVersion: SCHEMA_VERSION,
    createdAt: (parts.createdAt ?? new Date()).toISOString(),
    app: { version: parts.appVersion, onnxruntimeWebVersion: parts.onnxruntimeWebVersion },
    environment: parts.environment,
    model: parts.model,
    input: parts.input,
    sweep: parts.sweep,
    points: parts.points,
    recommendation,
  };
}
