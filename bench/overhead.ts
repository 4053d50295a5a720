/**
 * Overhead of the profiler's measurement: for one batch of esm2_tiny, the throughput that the profiler
 * reports divided by the throughput of a bare loop of `session.run` on the same graph bytes, batch
 * tensors and session options. Both run in a dedicated worker of the same page: the profiler through
 * `window.batchProfiler`, the bare loop through bench/bareSession.ts. Rounds alternate (profiler, bare,
 * profiler, bare, …) so that drift on a shared machine hits both sides. Each side warms up once and
 * times 10 runs per round. Round 0 warms up the workers and is not counted. The main ratio is of the
 * medians over the counted rounds, and a second line gives the ratio of each side's fastest round. A
 * ratio below 1 means the profiler reports less throughput than the bare loop reaches.
 *
 * Both sides read `last_hidden_state` back with `getData()`. What the profiler adds to each run is an
 * out-of-memory error scope and a scan of the output for NaN and infinity, and on WebGPU the
 * allocation counter that wraps `device.createBuffer`. The bare loop has none of these.
 *
 * Run: npx tsx bench/overhead.ts [--backend webgpu|wasm] [--batch N] [--rounds N]
 * Defaults: webgpu, a batch of 8 sequences on WebGPU and 64 on WASM, and 8 counted rounds.
 * Set BUILD_DIR to build and serve another folder than dist/.
 * About 80 s on WebGPU and 12 s on WASM on a 2-core VM with SwiftShader, plus a build when the app's
 * build is stale.
 */
import { parseArgs } from 'node:util';
import type { PointResult, ProfileResult } from '../src/report/result';
import { median } from '../src/profiling/stats';
import { BareLoop, buildBenchBatch, bundleBareWorker, ENGINE_SESSION_OPTIONS, openBenchPage, type BenchBackend } from './bareSession';

const MODEL_ID = 'esm2_tiny';
/**
 * Short proteins keep one run of 8 of them at 0.16 to 0.35 s on SwiftShader. With 100 to 200 residues
 * a run of 8 took 5 to 12 s, and one bench run took 14 minutes.
 */
const SYNTHETIC = { seed: 7, count: 64, minLength: 12, maxLength: 24 };
const WARMUP_RUNS = 1;
const TIMED_RUNS = 10;

/**
 * Default batch in sequences per backend. On WASM a batch of 8 ran in about 1.5 ms, where scheduling
 * jitter swamps a few percent, so WASM takes the whole input (about 11 ms a run).
 */
const DEFAULT_BATCH_SEQUENCES: Record<BenchBackend, number> = { webgpu: 8, wasm: 64 };

function readOptions(): { backend: BenchBackend; batchSequences: number; rounds: number } {
  const { values } = parseArgs({
    options: { backend: { type: 'string', default: 'webgpu' }, batch: { type: 'string' }, rounds: { type: 'string', default: '8' } },
  });
  if (values.backend !== 'webgpu' && values.backend !== 'wasm') throw new RangeError(`Invalid --backend ${values.backend}: expected webgpu or wasm.`);
  const batchSequences = values.batch === undefined ? DEFAULT_BATCH_SEQUENCES[values.backend] : Number(values.batch);
  if (!Number.isInteger(batchSequences) || batchSequences < 1) throw new RangeError(`Invalid --batch ${values.batch}: expected a whole number of sequences of at least 1.`);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`Invalid --rounds ${values.rounds}: expected a whole number of at least 1.`);
  return { backend: values.backend, batchSequences, rounds };
}

const { backend, batchSequences, rounds } = readOptions();
const batch = buildBenchBatch(MODEL_ID, SYNTHETIC, batchSequences);
const workerSource = await bundleBareWorker();
const bench = await openBenchPage();
try {
  const { page } = bench;

  // 1. The profiler: a one-point sweep by sequence count, with a fixed number of timed runs.
  const sweep = { unit: 'sequences' as const, min: batchSequences, max: batchSequences, step: batchSequences, warmupRuns: WARMUP_RUNS, minRuns: TIMED_RUNS, maxRuns: TIMED_RUNS, maxTimePerPointMs: 0 };
  await page.evaluate((settings) => window.batchProfiler!.configure(settings), { modelId: MODEL_ID, backend, sweep, synthetic: SYNTHETIC, strategy: 'linear' as const, gpuBudget: '' });
  const runProfiler = async (): Promise<{ point: PointResult; result: ProfileResult }> => {
    const result = await page.evaluate(() => window.batchProfiler!.run());
    const point = result.points[0];
    if (!point || point.status !== 'ok' || point.medianMs === null || point.sequencesPerSecond === null) {
      throw new Error(`The profiler's point did not run: ${point ? `${point.status}: ${point.message ?? 'no message'}` : 'the result has no points'}.`);
    }
    if (point.sequences !== batch.sequences || point.paddedTokens !== batch.paddedTokens) {
      throw new Error(`The profiler ran ${point.sequences} sequences and ${point.paddedTokens} padded tokens, but the bare batch has ${batch.sequences} and ${batch.paddedTokens}. The two sides must run the same batch.`);
    }
    return { point, result };
  };

  // 2. The bare loop, in its own worker of the same page, without GPU byte counting.
  const bare = await BareLoop.start(page, { appUrl: bench.appUrl, backend, countGpuBytes: false, workerSource });
  await bare.load(batch);
  const runBare = async (): Promise<{ medianMs: number; sequencesPerSecond: number }> => {
    const measured = await bare.measure(ENGINE_SESSION_OPTIONS, { warmupRuns: WARMUP_RUNS, timedRuns: TIMED_RUNS, returnOutput: false });
    return { medianMs: measured.medianMs, sequencesPerSecond: (batch.sequences * 1000) / measured.medianMs };
  };

  console.log(`Model ${MODEL_ID}, backend ${backend}, batch ${batch.sequences} sequences × ${batch.dims[1]} padded tokens (${batch.tokens} real tokens).`);
  console.log(`Session options: ${JSON.stringify(backend === 'webgpu' ? ENGINE_SESSION_OPTIONS : { graphOptimizationLevel: ENGINE_SESSION_OPTIONS.graphOptimizationLevel })}. ${WARMUP_RUNS} warm-up and ${TIMED_RUNS} timed runs per side per round.`);
  console.log('round  profiler ms  profiler seq/s  bare ms  bare seq/s  profiler/bare');
  const printRound = (label: string, profiler: PointResult, bareRound: { medianMs: number; sequencesPerSecond: number }): void => {
    console.log(
      `${label.padStart(5)}  ${profiler.medianMs!.toFixed(1).padStart(11)}  ${profiler.sequencesPerSecond!.toFixed(1).padStart(14)}  ` +
        `${bareRound.medianMs.toFixed(1).padStart(7)}  ${bareRound.sequencesPerSecond.toFixed(1).padStart(10)}  ${(profiler.sequencesPerSecond! / bareRound.sequencesPerSecond).toFixed(3).padStart(13)}`,
    );
  };

  // 3. A round that is not counted. On WASM the first rounds of both workers took up to twice as long
  //    as later ones, probably while V8 compiled the hot wasm functions with its optimizing tier.
  const first = await runProfiler();
  const adapter = first.result.environment.adapter;
  console.log(
    `Profiler worker: ${first.result.environment.wasmThreads} wasm threads${adapter ? `, adapter ${adapter.vendor} ${adapter.architecture}` : ''}. ` +
      `Bare worker: ${bare.ready.wasmThreads} wasm threads, cross-origin isolated ${bare.ready.crossOriginIsolated}${bare.ready.adapter ? `, adapter ${bare.ready.adapter}` : ''}.`,
  );
  printRound('0', first.point, await runBare());

  // 4. Alternating rounds.
  const profilerRates: number[] = [];
  const bareRates: number[] = [];
  for (let round = 1; round <= rounds; round += 1) {
    const { point } = await runProfiler();
    const bareRound = await runBare();
    profilerRates.push(point.sequencesPerSecond!);
    bareRates.push(bareRound.sequencesPerSecond);
    printRound(String(round), point, bareRound);
  }

  // 5. Ratios over the counted rounds.
  const profilerRate = median(profilerRates);
  const bareRate = median(bareRates);
  console.log(`Median over rounds 1 to ${rounds}: profiler ${profilerRate.toFixed(1)} seq/s, bare loop ${bareRate.toFixed(1)} seq/s.`);
  console.log(`profiler sequences/s ÷ bare sequences/s = ${(profilerRate / bareRate).toFixed(3)} (target ≥ 0.97)`);
  // Load from other processes only slows runs down, so the fastest round of each side is the least disturbed.
  const fastestProfilerRate = Math.max(...profilerRates);
  const fastestBareRate = Math.max(...bareRates);
  console.log(`Fastest round of each side: profiler ${fastestProfilerRate.toFixed(1)} seq/s ÷ bare ${fastestBareRate.toFixed(1)} seq/s = ${(fastestProfilerRate / fastestBareRate).toFixed(3)}`);
} finally {
  await bench.close();
}
