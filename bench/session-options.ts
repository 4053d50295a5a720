/**
 * The onnxruntime-web session options that the engine chooses (src/worker/engine.ts createSession),
 * each measured against its alternatives on one batch of esm2_tiny on WebGPU, in the bare-loop worker
 * of bench/bareSession.ts. One option changes at a time; the others keep the chosen values:
 *   - graphOptimizationLevel: all (chosen), extended, basic, disabled
 *   - preferredOutputLocation: cpu (ORT's default, which the engine keeps), gpu-buffer
 *   - storageBufferCacheMode: lazyRelease (chosen), bucket, simple. 'disabled' is skipped, because
 *     onnxruntime-web 1.30 fails with it ("[Buffer (unlabeled)] used in submit while destroyed").
 * Each setting gets a fresh session, one warm-up and 10 timed runs per round, and every run reads
 * `last_hidden_state` back with `getData()`, which for 'gpu-buffer' downloads the GPU tensor. So both
 * output locations pay for the read-back that the profiler needs. Rounds measure every setting in
 * turn, so drift on a shared machine hits all of them.
 *
 * Columns:
 *   - median ms: the median over the rounds of each round's median, and its ratio to the chosen
 *     setting's (above 1 is slower);
 *   - fastest ms: the fastest round's median, and its ratio likewise;
 *   - peak and post-run live GPU bytes in MiB, counted by wrapping `device.createBuffer` and
 *     `GPUBuffer.prototype.destroy` as src/gpu/accounting.ts does (requested bytes, weights included);
 *   - the largest absolute difference of the output from the chosen setting's, marked ok within 1e-3.
 *
 * Run: npx tsx bench/session-options.ts [--batch N] [--rounds N]
 * Defaults: 8 sequences, 5 rounds. Set BUILD_DIR to build and serve another folder than dist/.
 * About 2 minutes on a 2-core VM with SwiftShader, plus a build when the app's build is stale.
 */
import { parseArgs } from 'node:util';
import { median } from '../src/profiling/stats';
import { BareLoop, buildBenchBatch, bundleBareWorker, ENGINE_SESSION_OPTIONS, maxAbsDifference, openBenchPage, type BareSessionOptions } from './bareSession';

const MODEL_ID = 'esm2_tiny';
/** The input of bench/overhead.ts: short proteins keep a run of 8 at 0.16 to 0.35 s on SwiftShader. */
const SYNTHETIC = { seed: 7, count: 64, minLength: 12, maxLength: 24 };
const WARMUP_RUNS = 1;
const TIMED_RUNS = 10;
/** Largest absolute output difference from the chosen setting that still counts as the same result. */
const TOLERANCE = 1e-3;
const MIB = 1024 * 1024;

type OptionName = keyof BareSessionOptions;

/** Alternatives to each chosen value, in the order the table lists them. */
const ALTERNATIVES: { [Name in OptionName]: BareSessionOptions[Name][] } = {
  graphOptimizationLevel: ['extended', 'basic', 'disabled'],
  preferredOutputLocation: ['gpu-buffer'],
  storageBufferCacheMode: ['bucket', 'simple'],
};

interface Setting {
  /** The option this setting changes; null for the chosen settings, which every group compares with. */
  option: OptionName | null;
  value: string;
  options: BareSessionOptions;
}

interface SettingResult {
  mediansMs: number[];
  peakBytes: number | null;
  liveBytesAfterRuns: number | null;
  maxAbsDifference: number | null;
}

function readOptions(): { batchSequences: number; rounds: number } {
  const { values } = parseArgs({ options: { batch: { type: 'string', default: '8' }, rounds: { type: 'string', default: '5' } } });
  const batchSequences = Number(values.batch);
  if (!Number.isInteger(batchSequences) || batchSequences < 1) throw new RangeError(`Invalid --batch ${values.batch}: expected a whole number of sequences of at least 1.`);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`Invalid --rounds ${values.rounds}: expected a whole number of at least 1.`);
  return { batchSequences, rounds };
}

function formatMib(bytes: number | null): string {
  return bytes === null ? 'n/a' : (bytes / MIB).toFixed(2);
}

const { batchSequences, rounds } = readOptions();
const settings: Setting[] = [{ option: null, value: 'chosen', options: ENGINE_SESSION_OPTIONS }];
for (const option of Object.keys(ALTERNATIVES) as OptionName[]) {
  for (const value of ALTERNATIVES[option]) settings.push({ option, value, options: { ...ENGINE_SESSION_OPTIONS, [option]: value } });
}

const batch = buildBenchBatch(MODEL_ID, SYNTHETIC, batchSequences);
const workerSource = await bundleBareWorker();
const bench = await openBenchPage();
try {
  const bare = await BareLoop.start(bench.page, { appUrl: bench.appUrl, backend: 'webgpu', countGpuBytes: true, workerSource });
  await bare.load(batch);
  console.log(`Model ${MODEL_ID}, WebGPU, batch ${batch.sequences} sequences × ${batch.dims[1]} padded tokens. Adapter ${bare.ready.adapter}, ${bare.ready.wasmThreads} wasm threads.`);
  console.log(`Chosen: ${JSON.stringify(ENGINE_SESSION_OPTIONS)}. ${WARMUP_RUNS} warm-up and ${TIMED_RUNS} timed runs per setting per round, ${rounds} rounds.`);

  // 1. Rounds: every setting once per round, starting one setting later each round, so that no setting
  //    always takes the same place in the order. Round 1 starts with the chosen setting and keeps
  //    every output, so that each other output can be compared with the chosen one.
  const results: SettingResult[] = settings.map(() => ({ mediansMs: [], peakBytes: null, liveBytesAfterRuns: null, maxAbsDifference: null }));
  let chosenOutput: Float32Array | null = null;
  for (let round = 1; round <= rounds; round += 1) {
    const roundMediansMs: string[] = settings.map(() => '');
    for (let step = 0; step < settings.length; step += 1) {
      const index = (step + round - 1) % settings.length;
      const measured = await bare.measure(settings[index].options, { warmupRuns: WARMUP_RUNS, timedRuns: TIMED_RUNS, returnOutput: round === 1 });
      const result = results[index];
      result.mediansMs.push(measured.medianMs);
      roundMediansMs[index] = measured.medianMs.toFixed(1);
      if (round === 1) {
        result.peakBytes = measured.peakBytes;
        result.liveBytesAfterRuns = measured.liveBytesAfterRuns;
        if (index === 0) chosenOutput = measured.output;
        result.maxAbsDifference = maxAbsDifference(measured.output!, chosenOutput!);
      }
    }
    console.log(`Round ${round}: median ms per setting, in table order: ${roundMediansMs.join(', ')}.`);
  }

  // 2. Table: the chosen value heads each option's group, and every group shares its one measurement.
  //    Load from other processes only adds time, so the fastest round is the least disturbed figure.
  const chosenMs = median(results[0].mediansMs);
  const chosenFastestMs = Math.min(...results[0].mediansMs);
  console.log('option                   value          median ms   ratio  fastest ms   ratio  peak MiB  live after runs MiB  max |Δ| vs chosen');
  const printRow = (option: string, value: string, result: SettingResult): void => {
    const medianMs = median(result.mediansMs);
    const fastestMs = Math.min(...result.mediansMs);
    const difference = result.maxAbsDifference === null ? 'n/a' : `${result.maxAbsDifference.toExponential(1)} ${result.maxAbsDifference <= TOLERANCE ? 'ok' : `OVER ${TOLERANCE}`}`;
    console.log(
      `${option.padEnd(24)} ${value.padEnd(14)} ${medianMs.toFixed(1).padStart(9)}  ${(medianMs / chosenMs).toFixed(3).padStart(6)}  ` +
        `${fastestMs.toFixed(1).padStart(10)}  ${(fastestMs / chosenFastestMs).toFixed(3).padStart(6)}  ` +
        `${formatMib(result.peakBytes).padStart(8)}  ${formatMib(result.liveBytesAfterRuns).padStart(19)}  ${difference}`,
    );
  };
  for (const option of Object.keys(ALTERNATIVES) as OptionName[]) {
    printRow(option, `${ENGINE_SESSION_OPTIONS[option]} *`, results[0]);
    settings.forEach((setting, index) => {
      if (setting.option === option) printRow(option, setting.value, results[index]);
    });
    if (option === 'storageBufferCacheMode') console.log(`${option.padEnd(24)} ${'disabled'.padEnd(14)} skipped: onnxruntime-web 1.30 fails with "[Buffer (unlabeled)] used in submit while destroyed".`);
  }
  console.log("* chosen by the engine. Each ratio divides by the chosen setting's figure in the column before it, so above 1 is slower.");
} finally {
  await bench.close();
}
