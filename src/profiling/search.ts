/**
 * Strategies that find the largest batch size that runs, over the sorted batch sizes of a sweep plan:
 *
 * - `linear` probes every size in order until the first failure that larger batches would repeat
 *   (out of memory, buffer limit, device lost), like `runSweep`.
 * - `power-bisect` probes indices 0, 1, 3, 7, … (which doubles the size when min equals step) until
 *   such a failure, then bisects between the last size that ran and the first that failed.
 * - `auto` probes a predicted largest size first, such as one from the memory model or the buffer limits,
 *   steps outward by 1, 2, 4, … indices until the boundary is bracketed, then bisects. Without a
 *   prediction it does what `power-bisect` does.
 *
 * All three return the same boundary on the grid of the plan, provided failures are monotonic: a size
 * fails whenever a smaller one failed. Statuses 'error' and 'invalid-output' are not failures of this
 * kind, so the search goes on above them, as `runSweep` does.
 */
import type { PointResult } from '../report/result';
import { STOPPING_STATUSES, runSweep, type SweepCallbacks, type SweepProgress } from './sweep';

export type SearchStrategy = 'linear' | 'power-bisect' | 'auto';

export const SEARCH_STRATEGIES: readonly SearchStrategy[] = Object.freeze(['linear', 'power-bisect', 'auto'] as const);

/**
 * Progress of a search. For `power-bisect` and `auto`, `total` is an upper bound on the probes of the
 * whole search, and `remainingMs` is the mean probe time times the probes that may remain.
 */
export type SearchProgress = SweepProgress;

export type SearchCallbacks = SweepCallbacks;

export interface SearchOptions extends SearchCallbacks {
  strategy: SearchStrategy;
  /** For `auto`: the predicted largest batch size that runs. Null or absent makes `auto` act as `power-bisect`. */
  predictedMaxBatchSize?: number | null;
}

export interface SearchOutcome {
  strategy: SearchStrategy;
  /** The points of the sizes that were probed, sorted by batch size. */
  points: PointResult[];
  probes: number;
  /** Probes that ended in out of memory, a buffer limit or a lost device. Each costs a new session in the engine. */
  failedProbes: number;
  elapsedMs: number;
  /** Largest probed size with status 'ok' below the first failing size, or null when none ran. */
  maxWorkingBatchSize: number | null;
  /** Smallest size that failed with a stopping status, or null when none failed. */
  firstFailingBatchSize: number | null;
  /** The prediction that `auto` started from, or null for other strategies and when none was given. */
  predictedMaxBatchSize: number | null;
  /** True when `shouldStop` ended the search early. The boundary is then only what was found so far. */
  cancelled: boolean;
}

/**
 * Searches `batchSizes` (strictly increasing whole numbers, as `planBatchSizes` returns them) for the
 * largest size that runs, with `options.strategy`. `probe` runs one size. Throws a RangeError for an
 * unknown strategy, an unsorted list or a prediction that is not a positive number. Errors that `probe`
 * throws are passed on.
 */
export async function searchBatchSizes(
  batchSizes: readonly number[],
  probe: (batchSize: number) => Promise<PointResult>,
  options: SearchOptions,
  now: () => number = () => performance.now(),
): Promise<SearchOutcome> {
  if (!SEARCH_STRATEGIES.includes(options.strategy)) {
    throw new RangeError(`Unknown search strategy "${String(options.strategy)}": expected ${SEARCH_STRATEGIES.join(', ')}.`);
  }
  validateBatchSizes(batchSizes);
  const prediction = options.strategy === 'auto' ? (options.predictedMaxBatchSize ?? null) : null;
  if (prediction !== null && (!Number.isFinite(prediction) || prediction <= 0)) {
    throw new RangeError(`Invalid predicted max batch size ${String(prediction)}: expected a number > 0.`);
  }

  if (options.strategy === 'linear') return searchLinearly(batchSizes, probe, options, now);

  const search = new BracketSearch(batchSizes, probe, options, now);
  try {
    if (prediction === null) await search.doubleThenBisect();
    else await search.gallopFromThenBisect(indexAtOrBelow(batchSizes, prediction));
  } catch (error) {
    if (!(error instanceof SearchCancelled)) throw error;
    return search.outcome(options.strategy, prediction, true);
  }
  return search.outcome(options.strategy, prediction, false);
}

async function searchLinearly(
  batchSizes: readonly number[],
  probe: (batchSize: number) => Promise<PointResult>,
  callbacks: SearchCallbacks,
  now: () => number,
): Promise<SearchOutcome> {
  const startMs = now();
  const sweep = await runSweep([...batchSizes], probe, callbacks, now);
  const points = [...sweep.points].sort((a, b) => a.batchSize - b.batchSize);
  const failing = sweep.stoppedBy?.batchSize ?? null;
  return {
    strategy: 'linear',
    points,
    probes: points.length,
    failedProbes: sweep.stoppedBy ? 1 : 0,
    elapsedMs: now() - startMs,
    maxWorkingBatchSize: largestOkBelow(points, failing),
    firstFailingBatchSize: failing,
    predictedMaxBatchSize: null,
    cancelled: sweep.cancelled,
  };
}

/** Thrown inside a search when `shouldStop` returns true, and caught by `searchBatchSizes`. */
class SearchCancelled extends Error {
  override readonly name = 'SearchCancelled';
}

/**
 * The state of a bracketing search: `below` is the largest index known to be below the boundary (−1 when
 * none is), `failing` the smallest index known to fail (the list length when none is).
 */
class BracketSearch {
  private below = -1;
  private failing: number;
  private readonly pointsByIndex = new Map<number, PointResult>();
  private readonly probeMs: number[] = [];
  private failedProbes = 0;
  private readonly startMs: number;

  constructor(
    private readonly batchSizes: readonly number[],
    private readonly probe: (batchSize: number) => Promise<PointResult>,
    private readonly callbacks: SearchCallbacks,
    private readonly now: () => number,
  ) {
    this.failing = batchSizes.length;
    this.startMs = now();
  }

  /** Probes index 0, then 2·i + 1 after each size that runs, up to the last index, then bisects. */
  async doubleThenBisect(): Promise<void> {
    const lastIndex = this.batchSizes.length - 1;
    let index = 0;
    while (lastIndex >= 0) {
      if (!(await this.probeAt(index))) break;
      if (index === lastIndex) break;
      index = Math.min(lastIndex, 2 * index + 1);
    }
    await this.bisect();
  }

  /**
   * Probes `start`, then steps away from it by 1, 2, 4, … indices (upward while sizes run, downward while
   * they fail) until the boundary is bracketed or the list ends, then bisects.
   */
  async gallopFromThenBisect(start: number): Promise<void> {
    const lastIndex = this.batchSizes.length - 1;
    if (lastIndex < 0) return;

    let distance = 1;
    if (await this.probeAt(start)) {
      let index = start;
      while (index < lastIndex) {
        index = Math.min(lastIndex, index + distance);
        distance *= 2;
        if (!(await this.probeAt(index))) break;
      }
    } else {
      let index = start;
      while (index > 0) {
        index = Math.max(0, index - distance);
        distance *= 2;
        if (await this.probeAt(index)) break;
      }
    }
    await this.bisect();
  }

  /** Halves the gap between `below` and `failing` until they are neighbours. */
  private async bisect(): Promise<void> {
    while (this.failing - this.below > 1) {
      const middle = Math.floor((this.below + this.failing) / 2);
      await this.probeAt(middle);
    }
  }

  /** Probes one index, once, and returns whether it is below the boundary (no stopping status). */
  private async probeAt(index: number): Promise<boolean> {
    const known = this.pointsByIndex.get(index);
    if (known) return !STOPPING_STATUSES.has(known.status);
    if (this.callbacks.shouldStop?.()) throw new SearchCancelled();

    const probeIndex = this.pointsByIndex.size;
    const remainingProbes = this.remainingProbesBound();
    const meanProbeMs = this.probeMs.length === 0 ? null : this.probeMs.reduce((sum, ms) => sum + ms, 0) / this.probeMs.length;
    this.callbacks.onProgress?.({
      index: probeIndex,
      total: probeIndex + remainingProbes,
      batchSize: this.batchSizes[index],
      elapsedMs: this.now() - this.startMs,
      remainingMs: meanProbeMs === null ? null : meanProbeMs * remainingProbes,
    });

    const probeStartMs = this.now();
    const point = await this.probe(this.batchSizes[index]);
    this.probeMs.push(this.now() - probeStartMs);
    this.pointsByIndex.set(index, point);
    this.callbacks.onPoint?.(point, probeIndex);

    if (STOPPING_STATUSES.has(point.status)) {
      this.failedProbes += 1;
      this.failing = Math.min(this.failing, index);
      return false;
    }
    this.below = Math.max(this.below, index);
    return true;
  }

  /**
   * Returns an upper bound on the probes left, this one included. Bisecting a gap of g indices takes at
   * most ⌈log₂ g⌉ probes. Before the bracket closes, stepping outward takes at most ⌈log₂ n⌉ + 1 more.
   */
  private remainingProbesBound(): number {
    const unknown = this.failing - this.below - 1;
    if (unknown <= 0) return 1;
    const bisectProbes = Math.ceil(Math.log2(unknown + 1));
    const bracketClosed = this.below >= 0 && this.failing < this.batchSizes.length;
    return bracketClosed ? bisectProbes : bisectProbes + Math.ceil(Math.log2(this.batchSizes.length)) + 1;
  }

  outcome(strategy: SearchStrategy, prediction: number | null, cancelled: boolean): SearchOutcome {
    const points = [...this.pointsByIndex.entries()].sort(([a], [b]) => a - b).map(([, point]) => point);
    const failing = this.failing < this.batchSizes.length ? this.batchSizes[this.failing] : null;
    return {
      strategy,
      points,
      probes: points.length,
      failedProbes: this.failedProbes,
      elapsedMs: this.now() - this.startMs,
      maxWorkingBatchSize: largestOkBelow(points, failing),
      firstFailingBatchSize: failing,
      predictedMaxBatchSize: prediction,
      cancelled,
    };
  }
}

/** Returns the index of the largest size ≤ `batchSize`, or 0 when every size is larger. */
function indexAtOrBelow(batchSizes: readonly number[], batchSize: number): number {
  let index = 0;
  while (index + 1 < batchSizes.length && batchSizes[index + 1] <= batchSize) index += 1;
  return index;
}

function largestOkBelow(sortedPoints: readonly PointResult[], failingBatchSize: number | null): number | null {
  let largest: number | null = null;
  for (const point of sortedPoints) {
    if (failingBatchSize !== null && point.batchSize >= failingBatchSize) break;
    if (point.status === 'ok') largest = point.batchSize;
  }
  return largest;
}

function validateBatchSizes(batchSizes: readonly number[]): void {
  for (let index = 0; index < batchSizes.length; index += 1) {
    const size = batchSizes[index];
    if (!Number.isSafeInteger(size) || size < 1) {
      throw new RangeError(`Invalid batch size ${String(size)} at index ${index}: expected a whole number ≥ 1.`);
    }
    if (index > 0 && size <= batchSizes[index - 1]) {
      throw new RangeError(
        `Batch sizes must be strictly increasing, but ${size} at index ${index} follows ${batchSizes[index - 1]}. Pass the list from planBatchSizes.`,
      );
    }
  }
}
