import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HUB_REPOS, DELIVERY_PREFIXES, startHubServer } from '../support/hubServer';
import { ProfilerEngine } from '../../src/worker/engine';
import type { ProbeRequest } from '../../src/worker/api';
import type { ModelRequest } from '../../src/models/modelSources';

const SYNTHETIC = { seed: 1, count: 12, minLength: 10, maxLength: 30 };
const PROBE: Omit<ProbeRequest, 'batchSize'> = { unit: 'sequences', warmupRuns: 1, minRuns: 2, maxRuns: 3, maxTimePerPointMs: 0 };

let hub: Awaited<ReturnType<typeof startHubServer>>;

beforeAll(async () => {
  ort.env.wasm.numThreads = 1;
  hub = await startHubServer();
});

afterAll(async () => {
  await hub.close();
});

async function engineWithInput(kind: 'protein' | 'dna' = 'protein'): Promise<ProfilerEngine> {
  const engine = new ProfilerEngine(ort);
  await engine.initialize('wasm');
  if (kind === 'protein') await engine.loadInput({ kind: 'synthetic', options: SYNTHETIC });
  else await engine.loadInput({ kind: 'synthetic-dna', options: { seed: 1, count: 12, minLength: 100, maxLength: 200, gcContent: 0.5 }, chunking: { chunkLengthBp: null } });
  return engine;
}

function hubRequest(hubId: string, variant: 'model' | 'model_fp16' = 'model', baseUrl = hub.baseUrl): ModelRequest {
  return { kind: 'hub', hubId, variant, hubBaseUrl: baseUrl };
}

async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('Expected the promise to reject.');
}

describe('ProfilerEngine with exports', () => {
  it('profiles an export by hub id', async () => {
    const engine = await engineWithInput();

    const loaded = await engine.loadUserModel({ source: hubRequest(HUB_REPOS.esm2) });
    const point = await engine.probe({ ...PROBE, batchSize: 4 });

    expect(loaded.report.source).toBe('hub');
    expect(loaded.report.variant).toBe('model');
    expect(loaded.report.id).toBe(HUB_REPOS.esm2);
    expect(loaded.report.layers).toBe(2);
    expect(loaded.report.hidden).toBe(32);
    expect(loaded.userModel?.architectureSource).toBe('config.json');
    expect(loaded.userModel?.family).toBe('esm2');
    expect(point.status).toBe('ok');
    expect(point.spotCheck?.agrees).toBe(true);
    expect(point.paddedFlopsPerSecond).toBeGreaterThan(0);
  });

  it('loads the fp16 variant', async () => {
    const engine = await engineWithInput();

    const loaded = await engine.loadUserModel({ source: hubRequest(HUB_REPOS.esm2, 'model_fp16') });
    const point = await engine.probe({ ...PROBE, batchSize: 2 });

    expect(loaded.report.dtype).toBe('float16');
    expect(loaded.report.variant).toBe('model_fp16');
    expect(point.status).toBe('ok');
  });

  it('fills int32 inputs in any order', async () => {
    const engine = await engineWithInput();

    const loaded = await engine.loadUserModel({ source: hubRequest(HUB_REPOS.int32Reordered), architecture: { family: 'esm2', layers: 1, hidden: 4, heads: 2 } });
    const point = await engine.probe({ ...PROBE, batchSize: 3 });

    expect(loaded.userModel?.architectureSource).toBe('user');
    expect(loaded.userModel?.inputs.map((input) => input.elemType)).toEqual(['int32', 'int32', 'int32']);
    expect(point.status).toBe('ok');
  });

  it('reports a fixed batch dimension', async () => {
    const engine = await engineWithInput();
    // Up to 12 residues, 14 tokens: every batch pads to the 16 tokens that the export fixes.
    await engine.loadInput({ kind: 'synthetic', options: { seed: 2, count: 4, minLength: 5, maxLength: 12 } });
    await engine.loadUserModel({ source: hubRequest(HUB_REPOS.fixedBatch), architecture: { family: 'esm2', layers: 1, hidden: 4, heads: 2 } });

    const fits = await engine.probe({ ...PROBE, batchSize: 1 });
    const other = await engine.probe({ ...PROBE, batchSize: 2 });

    expect(fits.status).toBe('ok');
    expect(fits.paddedTokens).toBe(16);
    expect(other.status).toBe('error');
    expect(other.runs).toBe(0);
    expect(other.message).toContain('fixes the batch dimension');
  });

  it('reports a fixed sequence length', async () => {
    const engine = await engineWithInput();
    await engine.loadUserModel({ source: hubRequest(HUB_REPOS.fixedBatch), architecture: { family: 'esm2', layers: 1, hidden: 4, heads: 2 } });

    const point = await engine.probe({ ...PROBE, batchSize: 1 });

    expect(point.status).toBe('error');
    expect(point.message).toContain('fixes the sequence dimension');
  });

  it('asks for an unknown architecture', async () => {
    const engine = await engineWithInput();

    const error = await rejectionOf(engine.loadUserModel({ source: hubRequest(HUB_REPOS.int32Reordered) }));

    expect(error.name).toBe('UnknownArchitectureError');
    expect(error.message).toContain('Enter the model family');
  });

  it('rejects an override that contradicts config.json', async () => {
    const engine = await engineWithInput();

    const error = await rejectionOf(engine.loadUserModel({ source: hubRequest(HUB_REPOS.esm2), architecture: { family: 'esm2', layers: 12, hidden: 480, heads: 20 } }));

    expect(error.name).toBe('ArchitectureMismatchError');
    expect(error.message).toContain('layers 12, but config.json states 2');
    expect(error.message).toContain('hidden size 480, but config.json states 32');
  });

  it('rejects an override of another family', async () => {
    const engine = await engineWithInput();

    const error = await rejectionOf(engine.loadUserModel({ source: hubRequest(HUB_REPOS.noConfig), architecture: { family: 'dnabert', layers: 2, hidden: 32, heads: 4 } }));

    expect(error.name).toBe('ArchitectureMismatchError');
    expect(error.message).toContain('family dnabert, but the graph identifies esm2');
  });

  it('names an unsupported operator', async () => {
    const engine = await engineWithInput();

    const error = await rejectionOf(engine.loadUserModel({ source: hubRequest(HUB_REPOS.unsupportedOp) }));

    expect(error.name).toBe('ModelLoadError');
    expect(error.message).toContain('operator Frobnicate');
  });

  it('rejects an input it cannot fill', async () => {
    const engine = await engineWithInput();

    const error = await rejectionOf(engine.loadUserModel({ source: hubRequest(HUB_REPOS.pixelValues) }));

    expect(error.name).toBe('ModelSourceError');
    expect(error.message).toContain('pixel_values');
  });

  it('rejects a missing id', async () => {
    const engine = await engineWithInput();

    const error = await rejectionOf(engine.loadUserModel({ source: hubRequest('test/does_not_exist') }));

    expect(error.name).toBe('ModelSourceError');
    expect((error as Error & { code?: string }).code).toBe('not-found');
  });

  it('rejects an HTML page', async () => {
    const engine = await engineWithInput();

    const error = await rejectionOf(engine.loadUserModel({ source: hubRequest(HUB_REPOS.esm2, 'model', `${hub.baseUrl}${DELIVERY_PREFIXES.html}`) }));

    expect((error as Error & { code?: string }).code).toBe('html');
  });

  it('profiles a DNA export on DNA input', async () => {
    const engine = await engineWithInput('dna');

    const loaded = await engine.loadUserModel({ source: hubRequest(HUB_REPOS.dnabert) });
    const point = await engine.probe({ ...PROBE, batchSize: 2 });

    expect(loaded.userModel?.family).toBe('dnabert');
    expect(point.status).toBe('ok');
  });
});
