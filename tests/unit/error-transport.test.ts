import * as Comlink from 'comlink';
import { afterEach, describe, expect, it } from 'vitest';
import { ProfilerWorkerError, serializeError, type SerializedError } from '../../src/worker/errorTransport';
import { ModelLoadError } from '../../src/worker/errors';

class QuotaError extends Error {
  override readonly name = 'QuotaError';
  constructor(
    message: string,
    readonly details: { requestedBytes: number; limits: { maxBufferSize: number }; labels: string[] },
  ) {
    super(message);
  }
}

const QUOTA_DETAILS = { requestedBytes: 2_147_483_648, limits: { maxBufferSize: 1_073_741_824 }, labels: ['weights', 'activations'] };

function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('Expected the call to reject, but it resolved.');
    },
    (error: unknown) => error,
  );
}

describe('serializeError', () => {
  it('serializeError keeps name, message and details of a custom error', () => {
    const error = new QuotaError('The buffer is over the limit.', QUOTA_DETAILS);

    const serialized = serializeError(error);

    expect(serialized.name).toBe('QuotaError');
    expect(serialized.message).toBe('The buffer is over the limit.');
    expect(serialized.details).toEqual(QUOTA_DETAILS);
    expect(serialized.stack).toBe(error.stack);
  });

  it('serializeError copies the details', () => {
    const error = new QuotaError('The buffer is over the limit.', QUOTA_DETAILS);

    const serialized = serializeError(error);

    expect(serialized.details).not.toBe(error.details);
  });

  it('serializeError keeps the details of ModelLoadError', () => {
    const serialized = serializeError(new ModelLoadError('esm2_t36_3B does not fit.', { modelId: 'esm2_t36_3B' }));

    expect(serialized.name).toBe('ModelLoadError');
    expect(serialized.details).toEqual({ modelId: 'esm2_t36_3B' });
  });

  it('serializeError leaves out missing details', () => {
    const serialized = serializeError(new RangeError('Invalid maxRuns: 0.'));

    expect(serialized.name).toBe('RangeError');
    expect(serialized.details).toBeUndefined();
  });

  it('serializeError turns uncloneable details into text', () => {
    const error = Object.assign(new Error('Session failed.'), { details: { retry: () => undefined } });

    const serialized = serializeError(error);

    expect(typeof serialized.details).toBe('string');
  });

  it.each([
    { label: 'a string', value: 'Invalid Buffer', message: 'Invalid Buffer' },
    { label: 'a number', value: 7, message: '7' },
    { label: 'undefined', value: undefined, message: 'undefined' },
  ])('serializeError wraps $label', ({ value, message }) => {
    expect(serializeError(value)).toEqual({ name: 'Error', message });
  });

  it('serializeError output survives structured cloning', () => {
    const serialized = serializeError(new QuotaError('The buffer is over the limit.', QUOTA_DETAILS));

    expect(structuredClone(serialized)).toEqual(serialized);
  });
});

describe('ProfilerWorkerError', () => {
  const serialized: SerializedError = {
    name: 'NoInputError',
    message: 'No input sequences are loaded.',
    details: { step: 'probe' },
    stack: 'NoInputError: No input sequences are loaded.\n    at probe (engine.ts:1:1)',
  };

  it('ProfilerWorkerError rebuilds name, message and details', () => {
    const error = new ProfilerWorkerError(serialized);

    expect(error.name).toBe('NoInputError');
    expect(error.message).toBe('No input sequences are loaded.');
    expect(error.details).toEqual({ step: 'probe' });
  });

  it('ProfilerWorkerError keeps the worker stack', () => {
    expect(new ProfilerWorkerError(serialized).stack).toBe(serialized.stack);
  });

  it('ProfilerWorkerError keeps its own stack without one', () => {
    const error = new ProfilerWorkerError({ name: 'Error', message: 'Lost.' });

    expect(error.stack).toContain('Lost.');
  });

  it('ProfilerWorkerError is an Error', () => {
    expect(new ProfilerWorkerError(serialized)).toBeInstanceOf(Error);
  });

  it('ProfilerWorkerError round-trips a custom error', () => {
    const original = new QuotaError('The buffer is over the limit.', QUOTA_DETAILS);

    const rebuilt = new ProfilerWorkerError(structuredClone(serializeError(original)));

    expect(rebuilt.name).toBe(original.name);
    expect(rebuilt.message).toBe(original.message);
    expect(rebuilt.details).toEqual(original.details);
  });
});

describe('comlink throw handler', () => {
  const ports: MessagePort[] = [];

  afterEach(() => {
    for (const port of ports.splice(0)) port.close();
  });

  it('comlink throw handler serializes and rethrows', () => {
    const handler = Comlink.transferHandlers.get('throw');
    if (!handler) throw new Error('comlink has no "throw" transfer handler.');

    const [wire, transferables] = handler.serialize({ value: new ModelLoadError('Too large.', { modelId: 'esm2_t36_3B' }) });

    expect(transferables).toEqual([]);
    expect(() => handler.deserialize(wire)).toThrow(ProfilerWorkerError);
  });

  it('comlink call rejects with name and details', async () => {
    const channel = new MessageChannel();
    ports.push(channel.port1, channel.port2);
    const api = {
      loadModel(modelId: string): never {
        throw new ModelLoadError(`${modelId} does not fit.`, { modelId });
      },
    };
    Comlink.expose(api, channel.port1);
    const remote = Comlink.wrap<typeof api>(channel.port2);

    const error = await rejectionOf(remote.loadModel('esm2_t36_3B'));

    expect(error).toBeInstanceOf(ProfilerWorkerError);
    expect((error as ProfilerWorkerError).name).toBe('ModelLoadError');
    expect((error as ProfilerWorkerError).message).toBe('esm2_t36_3B does not fit.');
    expect((error as ProfilerWorkerError).details).toEqual({ modelId: 'esm2_t36_3B' });
  });
});
