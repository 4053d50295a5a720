/**
 * Drives a sweep over batch sizes, one probe at a time. It runs on the page and calls the worker for
 * each probe, so that a hung worker can be replaced without losing the points measured so far.
 */
import type { PointResult, PointStatus } from '../report/result';

/** Returns a point with no measurement yet: the caller fills in timings or a failure. */
export function unmeasuredPoint(
  batchSize: number,
  status: PointStatus,
  batch: { sequences: number; tokens: number; paddedTokens: number } = { sequences: 0, tokens: 0, paddedTokens: 0 },
): PointResult {
  return {
    batchSize,
    sequences: batch.sequences,
    tokens: batch.tokens,
    paddedTokens: batch.paddedTokens,
    status,
    medianMs: null,
    p10Ms: null,
    p90Ms: null,
    runs: 0,
    sequencesPerSecond: null,
    tokensPerSecond: null,
    peakBytes: null,
    warmupMs: null,
  };
}

/** Statuses after which larger batches would fail too, so the sweep stops there. */
export const STOPPING_STATUSES: ReadonlySet<PointStatus> = new Set<PointStatus>(['oom', 'buffer-limit', 'device-lost']);

export interface SweepProgress {
  /** Zero-based index of the probe now running. */
  index: number;
  total: number;
  batchSize: number;
  elapsedMs: number;
  /** Estimate of the time the remaining probes take, in ms; null before the first point has finished. */
  remainingMs: number | null;
}

export interface SweepCallbacks {
  onProgress?(progress: SweepProgress): void;
  onPoint?(point: PointResult, index: number): void;
  /** Polled before each probe; returning true ends the sweep after the current probe. */
  shouldStop?(): boolean;
}

export interface SweepOutcome {
  points: PointResult[];
  cancelled: boolean;
  /** The failure that ended the sweep early, if any. */
  stoppedBy: PointResult | null;
}

/**
 * Probes each batch size in order.
 * 1. Before each probe, stop if the caller asked to, and report progress.
 * 2. Record the point, whatever its status.
 * 3. Stop at the first failure that larger batches would repeat (out of memory, buffer limit, device lost),
 *    or after a batch that took the whole input, since larger ones would run the same batch.
 */
export async function runSweep(
  batchSizes: number[],
  probe: (batchSize: number) => Promise<PointResult>,
  callbacks: SweepCallbacks = {},
  now: () => number = () => performance.now(),
): Promise<SweepOutcome> {
  const points: PointResult[] = [];
  const startMs = now();
  const probeMs: number[] = [];

  for (let index = 0; index < batchSizes.length; index += 1) {
    // 1. Cancellation and progress.
    if (callbacks.shouldStop?.()) return { points, cancelled: true, stoppedBy: null };
    const batchSize = batchSizes[index];
    callbacks.onProgress?.({
      index,
      total: batchSizes.length,
      batchSize,
      elapsedMs: now() - startMs,
      remainingMs: estimateRemainingMs(batchSizes, index, probeMs),
    });

    // 2. The probe.
    const probeStartMs = now();
    const point = await probe(batchSize);
    probeMs.push(now() - probeStartMs);
    points.push(point);
    callbacks.onPoint?.(point, index);

    // 3. Stop at a ceiling, or where the input cannot fill larger batches.
    if (STOPPING_STATUSES.has(point.status)) return { points, cancelled: false, stoppedBy: point };
    if (point.inputExhausted) return { points, cancelled: false, stoppedBy: null };
  }
  return { points, cancelled: false, stoppedBy: null };
}

/**
 * Estimates the time left, assuming a probe's time grows in proportion to its batch size, as it does
 * for throughput-bound runs. Warm-up makes small batches cost relatively more, so early estimates run low.
 */
export function estimateRemainingMs(batchSizes: number[], nextIndex: number, probeMs: number[]): number | null {
  if (probeMs.length === 0) return null;
  let doneSize = 0;
  let doneMs = 0;
  for (let i = 0; i < probeMs.length; i += 1) {
    doneSize += batchSizes[i];
    doneMs += probeMs[i];
  }
  const msPerUnit = doneMs / doneSize;
  let remainingSize = 0;
  for (let i = nextIndex; i < batchSizes.length; i += 1) remainingSize += batchSizes[i];
  return remainingSize * msPerUnit;
}
