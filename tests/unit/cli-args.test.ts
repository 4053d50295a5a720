import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { USAGE, UsageError, parseProfileArgs } from '../../src/cli/args';
import { MODEL_CATALOG } from '../../src/models/catalog';

describe('parseProfileArgs', () => {
  it('parseProfileArgs returns the defaults without options', () => {
    expect(parseProfileArgs([])).toEqual({
      modelId: 'esm2_t6_8M',
      backend: 'webgpu',
      fastaPath: null,
      unit: 'tokens',
      min: 512,
      max: 8192,
      step: 512,
      headroom: 0.8,
      warmupRuns: 1,
      minRuns: 3,
      maxRuns: 50,
      maxTimePerPointMs: 2000,
      targetRelativeError: 0.02,
      syntheticCount: null,
      outputPath: null,
      timeoutMinutes: 120,
      rebuild: false,
      help: false,
      chunkLengthBp: 500,
      lastChunk: 'overlap',
      withProteins: false,
      proteinModelId: 'esm2_t6_8M',
      tokenizerPath: null,
      gcContent: null,
      strategy: 'linear',
      budget: null,
      confirm: false,
      estimateCapacity: false,
      capacityCap: '16GiB',
      kernelTimes: false,
      precision: 'float32',
      exportSource: null,
      architecture: null,
      explicitSweep: {},
    });
  });

  it('parseProfileArgs uses sequence defaults for --unit sequences', () => {
    const options = parseProfileArgs(['--unit', 'sequences']);

    expect(options.unit).toBe('sequences');
    expect(options.min).toBe(4);
    expect(options.max).toBe(64);
    expect(options.step).toBe(4);
  });

  it('parseProfileArgs reads every option', () => {
    const options = parseProfileArgs([
      '--model', 'esm2_t12_35M',
      '--backend', 'wasm',
      '--synthetic-count', '40',
      '--unit', 'sequences',
      '--min', '2',
      '--max', '10',
      '--step', '2',
      '--headroom', '0.5',
      '--warmup', '0',
      '--min-runs', '4',
      '--max-runs', '8',
      '--time-cap-ms', '500',
      '--output', 'out/result.json',
      '--timeout-min', '2.5',
      '--target-error', '0.05',
      '--rebuild',
      '--help',
    ]);

    expect(options).toEqual({
      modelId: 'esm2_t12_35M',
      backend: 'wasm',
      fastaPath: null,
      unit: 'sequences',
      min: 2,
      max: 10,
      step: 2,
      headroom: 0.5,
      explicitSweep: { unit: 'sequences', min: 2, max: 10, step: 2 },
      warmupRuns: 0,
      minRuns: 4,
      maxRuns: 8,
      maxTimePerPointMs: 500,
      targetRelativeError: 0.05,
      syntheticCount: 40,
      outputPath: 'out/result.json',
      timeoutMinutes: 2.5,
      rebuild: true,
      help: true,
      chunkLengthBp: 500,
      lastChunk: 'overlap',
      withProteins: false,
      proteinModelId: 'esm2_t6_8M',
      tokenizerPath: null,
      gcContent: null,
      strategy: 'linear',
      budget: null,
      confirm: false,
      estimateCapacity: false,
      capacityCap: '16GiB',
      kernelTimes: false,
      precision: 'float32',
      exportSource: null,
      architecture: null,
    });
  });

  it('parseProfileArgs defaults to sequences for DNA models', () => {
    expect(parseProfileArgs(['--model', 'dnabert_s']).unit).toBe('sequences');
  });

  it('parseProfileArgs reads the DNA options', () => {
    const options = parseProfileArgs([
      '--model', 'dnabert_s', '--chunk', '300', '--last-chunk', 'drop', '--with-proteins',
      '--protein-model', 'esm2_t12_35M', '--tokenizer', 'tokenizer.json', '--gc', '0.4',
    ]);

    expect(options).toMatchObject({
      chunkLengthBp: 300,
      lastChunk: 'drop',
      withProteins: true,
      proteinModelId: 'esm2_t12_35M',
      tokenizerPath: 'tokenizer.json',
      gcContent: 0.4,
    });
  });

  it('parseProfileArgs reads --strategy and --budget', () => {
    const options = parseProfileArgs(['--model', 'esm2_tiny', '--strategy', 'auto', '--budget', '512MiB']);

    expect(options.strategy).toBe('auto');
    expect(options.budget).toBe('512MiB');
  });

  it.each([
    [['--strategy', 'random'], 'Invalid --strategy "random"'],
    [['--budget', '12 parsecs'], 'Invalid --budget'],
    [['--backend', 'wasm', '--budget', '1GiB'], '--budget simulates GPU memory'],
  ])('parseProfileArgs rejects search option %j', (argv, message) => {
    expect(() => parseProfileArgs(argv)).toThrow(message);
  });

  it('parseProfileArgs reads --chunk none as whole sequences', () => {
    expect(parseProfileArgs(['--model', 'dnabert_s', '--chunk', 'none']).chunkLengthBp).toBeNull();
  });

  it.each([
    [['--model', 'dnabert_s', '--last-chunk', 'split'], 'Invalid --last-chunk "split"'],
    [['--model', 'dnabert_s', '--protein-model', 'dnabert_s'], 'Invalid --protein-model "dnabert_s"'],
    [['--model', 'esm2_t6_8M', '--chunk', '500'], '--chunk applies to DNA models only'],
    [['--model', 'dnabert_s', '--gc', '1.5'], 'Invalid --gc "1.5"'],
  ])('parseProfileArgs rejects %j', (argv, message) => {
    expect(() => parseProfileArgs(argv)).toThrow(message);
  });

  it('parseProfileArgs reads --fasta', () => {
    expect(parseProfileArgs(['--fasta', 'proteins.fasta.gz']).fastaPath).toBe('proteins.fasta.gz');
  });

  it('parseProfileArgs accepts the --opt=value form', () => {
    expect(parseProfileArgs(['--max=1024']).max).toBe(1024);
  });

  it.each(MODEL_CATALOG.filter((model) => model.id !== 'esm2_t36_3B').map((model) => ({ id: model.id })))('parseProfileArgs accepts model $id', ({ id }) => {
    expect(parseProfileArgs(['--model', id]).modelId).toBe(id);
  });

  it('parseProfileArgs rejects a model too large to load', () => {
    expect(() => parseProfileArgs(['--model', 'esm2_t36_3B'])).toThrow('WebAssembly heap');
  });

  it.each([
    { argv: ['--model', 'esm2_t48_15B'], message: 'Unknown --model "esm2_t48_15B". Valid models: ' },
    { argv: ['--backend', 'webgl'], message: 'Invalid --backend "webgl": expected webgpu or wasm.' },
    { argv: ['--unit', 'residues'], message: 'Invalid --unit "residues": expected tokens or sequences.' },
    { argv: ['--min', '0'], message: `Invalid --min "0": expected an integer from 1 to ${Number.MAX_SAFE_INTEGER}.` },
    { argv: ['--min', '2.5'], message: 'Invalid --min "2.5": expected an integer from 1 to' },
    { argv: ['--max', 'many'], message: 'Invalid --max "many": expected an integer from 1 to' },
    { argv: ['--max', ''], message: 'Invalid --max "": expected an integer from 1 to' },
    { argv: ['--step=-512'], message: 'Invalid --step "-512": expected an integer from 1 to' },
    { argv: ['--headroom', '0'], message: 'Invalid --headroom "0": expected a number from 0.01 to 1.' },
    { argv: ['--headroom', '1.2'], message: 'Invalid --headroom "1.2": expected a number from 0.01 to 1.' },
    { argv: ['--headroom', 'NaN'], message: 'Invalid --headroom "NaN": expected a number from 0.01 to 1.' },
    { argv: ['--warmup=-1'], message: 'Invalid --warmup "-1": expected an integer from 0 to 100.' },
    { argv: ['--warmup', '101'], message: 'Invalid --warmup "101": expected an integer from 0 to 100.' },
    { argv: ['--min-runs', '0'], message: 'Invalid --min-runs "0": expected an integer from 1 to 1000.' },
    { argv: ['--max-runs', '10001'], message: 'Invalid --max-runs "10001": expected an integer from 1 to 10000.' },
    { argv: ['--time-cap-ms=-1'], message: 'Invalid --time-cap-ms "-1": expected an integer from 0 to 3600000.' },
    { argv: ['--time-cap-ms', '1.5'], message: 'Invalid --time-cap-ms "1.5": expected an integer from 0 to 3600000.' },
    { argv: ['--synthetic-count', '0'], message: 'Invalid --synthetic-count "0": expected an integer from 1 to 1000000.' },
    { argv: ['--timeout-min', '0'], message: 'Invalid --timeout-min "0": expected a number from 0.1 to 10000.' },
    { argv: ['--timeout-min', 'Infinity'], message: 'Invalid --timeout-min "Infinity": expected a number from 0.1 to 10000.' },
  ])('parseProfileArgs rejects $argv', ({ argv, message }) => {
    expect(() => parseProfileArgs(argv)).toThrow(message);
  });

  it.each([
    { argv: ['--min', '1024', '--max', '512'], message: 'Invalid range: --max 512 is below --min 1024.' },
    { argv: ['--min', '9000'], message: 'Invalid range: --max 8192 is below --min 9000.' },
    { argv: ['--min-runs', '60'], message: 'Invalid runs: --max-runs 50 is below --min-runs 60.' },
    {
      argv: ['--min', '1', '--max', '100000', '--step', '1'],
      message: 'The sweep from 1 to 100000 in steps of 1 has 100000 batch sizes, more than the limit of 1000.',
    },
  ])('parseProfileArgs rejects the combination $argv', ({ argv, message }) => {
    expect(() => parseProfileArgs(argv)).toThrow(message);
  });

  it('parseProfileArgs rejects --fasta with --synthetic-count', () => {
    const parse = () => parseProfileArgs(['--fasta', 'proteins.fasta', '--synthetic-count', '10']);

    expect(parse).toThrow(UsageError);
    expect(parse).toThrow('--fasta and --synthetic-count exclude each other');
  });

  it.each([
    { argv: ['--batch', '8'], message: "Unknown option '--batch'" },
    { argv: ['-m', 'esm2_t6_8M'], message: "Unknown option '-m'" },
    { argv: ['esm2_t6_8M'], message: "Unexpected argument 'esm2_t6_8M'" },
    { argv: ['--model'], message: "Option '--model <value>' argument missing" },
    // node:util parseArgs takes a value that starts with '-' for a possible option, so only the --min=-4 form passes it.
    { argv: ['--min', '-4'], message: "Option '--min' argument is ambiguous" },
    { argv: ['--rebuild=yes'], message: "Option '--rebuild' does not take an argument" },
  ])('parseProfileArgs rejects the malformed $argv', ({ argv, message }) => {
    const parse = () => parseProfileArgs(argv);

    expect(parse).toThrow(message);
    expect(parse).toThrow('Run with --help for the options.');
  });

  it('parseProfileArgs throws UsageError for invalid values', () => {
    expect(() => parseProfileArgs(['--backend', 'cuda'])).toThrow(UsageError);
  });

  it('parseProfileArgs names UsageError', () => {
    let caught: unknown;
    try {
      parseProfileArgs(['--unknown']);
    } catch (error) {
      caught = error;
    }

    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as Error).name).toBe('UsageError');
  });
});

describe('USAGE', () => {
  it.each(['--model', '--backend', '--fasta', '--synthetic-count', '--unit', '--min', '--max', '--step', '--headroom', '--warmup', '--min-runs', '--max-runs', '--time-cap-ms', '--output', '--timeout-min', '--rebuild', '--help'])(
    'USAGE lists %s',
    (flag) => {
      expect(USAGE).toContain(`  ${flag} `);
    },
  );
});

describe('parseProfileArgs exports', () => {
  it('reads a hub id with variant', () => {
    const options = parseProfileArgs(['--hub-id', 'Xenova/esm2_t6_8M_UR50D', '--variant', 'model_fp16', '--hub-base-url', 'http://127.0.0.1:9000']);

    expect(options.exportSource).toEqual({ kind: 'hub', hubId: 'Xenova/esm2_t6_8M_UR50D', variant: 'model_fp16', hubBaseUrl: 'http://127.0.0.1:9000' });
    expect(options.unit).toBe('tokens');
  });

  it('reads model files and an architecture', () => {
    const folder = mkdtempSync(join(tmpdir(), 'cli-args-'));
    const onnx = join(folder, 'model.onnx');
    const data = join(folder, 'model.onnx_data');
    writeFileSync(onnx, 'x');
    writeFileSync(data, 'x');

    const options = parseProfileArgs(['--model-file', onnx, '--model-file', data, '--architecture', 'dnabert,12,768,12']);

    expect(options.exportSource).toEqual({ kind: 'file', paths: [onnx, data] });
    expect(options.architecture).toEqual({ family: 'dnabert', layers: 12, hidden: 768, heads: 12 });
    expect(options.unit).toBe('sequences');
  });

  it.each([
    { argv: ['--hub-id', 'a/b', '--model-url', 'https://x/m.onnx'], message: '--model-url and --hub-id exclude each other' },
    { argv: ['--variant', 'model_fp16'], message: '--variant applies to --hub-id only' },
    { argv: ['--hub-id', 'a/b', '--variant', 'model_int4'], message: 'Invalid --variant "model_int4"' },
    { argv: ['--model-file', 'weights.bin'], message: 'exactly one .onnx file' },
    { argv: ['--model-file', '/no/such/model.onnx'], message: 'Invalid --model-file "/no/such/model.onnx": no such file' },
    { argv: ['--hub-id', 'a/b', '--hub-base-url', 'notaurl'], message: 'Invalid --hub-base-url "notaurl"' },
    { argv: ['--kernel-times', '--backend', 'wasm'], message: '--kernel-times needs --backend webgpu' },
    { argv: ['--model-url', 'ftp://x/m.onnx'], message: 'Invalid --model-url' },
    { argv: ['--hub-id', 'a/b', '--architecture', 'esm2,6,320'], message: 'Invalid --architecture' },
    { argv: ['--hub-id', 'a/b', '--model', 'esm2_tiny'], message: '--model names a built-in model' },
  ])('rejects $argv', ({ argv, message }) => {
    expect(() => parseProfileArgs(argv)).toThrow(message);
  });
});
