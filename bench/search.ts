/**
 * Compares the batch-size search strategies on a fake probe whose time grows with the batch size.
 * Prints the probes and wall time of each strategy, also as ratios to `linear`. It sleeps about 7 s in all.
 *
 *   npx tsx bench/search.ts
 *
 * The fake probe sleeps MAX_PROBE_MS × size / largest size, and a probe that fails sleeps
 * FAILURE_PENALTY_MS more, standing in for the session that the engine re-creates after a failure.
 * `auto` runs once per prediction error in PREDICTION_ERRORS: its prediction is the true largest
 * working size times (1 + error).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { PointResult } from '../src/report/result';
import { planBatchSizes, type SweepRange } from '../src/profiling/plan';
import { searchBatchSizes, type SearchOptions, type SearchOutcome } from '../src/profiling/search';

const MAX_PROBE_MS = 20;
const FAILURE_PENALTY_MS = 30;
const PREDICTION_ERRORS = [-0.1, 0, 0.1];

const GRIDS: { name: string; range: SweepRange }[] = [
  { name: 'tokens 512..8192 step 512', range: { min: 512, max: 8192, step: 512 } },
  { name: 'sequences 4..512 step 4', range: { min: 4, max: 512, step: 4 } },
];

/** Positions of the first failing size, as fractions of the plan. Null means that no size fails. */
const CEILING_FRACTIONS = [0.25, 0.5, 0.9, null];

function fakePoint(batchSize: number, ok: boolean): PointResult {
  return {
    batchSize,
    sequences: batchSize,
    tokens: batchSize,
    paddedTokens: batchSize,
    status: ok ? 'ok' : 'oom',
    medianMs: ok ? 1 : null,
    p10Ms: ok ? 1 : null,
    p90Ms: ok ? 1 : null,
    runs: ok ? 1 : 0,
    sequencesPerSecond: ok ? 1 : null,
    tokensPerSecond: ok ? 1 : null,
    peakBytes: null,
    warmupMs: null,
  };
}

function makeProbe(largestSize: number, ceilingSize: number | null) {
  return async (batchSize: number): Promise<PointResult> => {
    const ok = ceilingSize === null || batchSize < ceilingSize;
    await sleep((MAX_PROBE_MS * batchSize) / largestSize + (ok ? 0 : FAILURE_PENALTY_MS));
    return fakePoint(batchSize, ok);
  };
}

function formatRatio(value: number, reference: number): string {
  return reference === 0 ? 'n/a' : (value / reference).toFixed(2);
}

function strategyRuns(trueMax: number): { label: string; options: SearchOptions }[] {
  return [
    { label: 'linear', options: { strategy: 'linear' } },
    { label: 'power-bisect', options: { strategy: 'power-bisect' } },
    ...PREDICTION_ERRORS.map((error) => ({
      label: `auto, prediction ${error >= 0 ? '+' : ''}${Math.round(error * 100)}%`,
      options: { strategy: 'auto' as const, predictedMaxBatchSize: trueMax * (1 + error) },
    })),
  ];
}

async function main(): Promise<void> {
  const rows: string[][] = [['plan', 'first failure', 'strategy', 'probes', 'failed', 'wall ms', 'probes / linear', 'time / linear', 'max found']];

  for (const grid of GRIDS) {
    const sizes = planBatchSizes(grid.range);
    const largestSize = sizes[sizes.length - 1];
    for (const fraction of CEILING_FRACTIONS) {
      const ceilingIndex = fraction === null ? null : Math.floor(fraction * (sizes.length - 1));
      const ceilingSize = ceilingIndex === null ? null : sizes[ceilingIndex];
      const trueMax = ceilingIndex === null ? largestSize : sizes[ceilingIndex - 1];

      let linear: SearchOutcome | null = null;
      for (const run of strategyRuns(trueMax)) {
        const outcome = await searchBatchSizes(sizes, makeProbe(largestSize, ceilingSize), run.options);
        linear ??= outcome;
        rows.push([
          grid.name,
          ceilingSize === null ? 'none' : String(ceilingSize),
          run.label,
          String(outcome.probes),
          String(outcome.failedProbes),
          outcome.elapsedMs.toFixed(0),
          formatRatio(outcome.probes, linear.probes),
          formatRatio(outcome.elapsedMs, linear.elapsedMs),
          String(outcome.maxWorkingBatchSize),
        ]);
      }
    }
  }

  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  for (const row of rows) console.log(row.map((cell, column) => cell.padEnd(widths[column])).join('  '));
}

await main();
