import { describe, expect, it } from 'vitest';
import { classifyFailure, errorText, type FailureContext } from '../../src/gpu/classify';

const RUNNING: FailureContext = { deviceLost: false };
const LOST: FailureContext = { deviceLost: true };

/** Messages seen from onnxruntime-web 1.30 on Chromium's WebGPU. */
const BUFFER_SIZE_MESSAGE = 'WebGPU validation failed. Buffer size (2147483648) exceeds the max buffer size limit (1073741824).';
const INVALID_BUFFER_MESSAGE = 'Invalid Buffer';
const DOWNLOAD_FAILED_MESSAGE = 'Failed to download data from buffer';

describe('classifyFailure', () => {
  it.each([
    { label: 'max buffer size', message: BUFFER_SIZE_MESSAGE },
    { label: 'storage binding size', message: 'Binding size (300000000) exceeds the maximum storage buffer binding size (134217728).' },
    { label: 'maxStorageBufferBindingSize', message: 'Binding size is larger than maxStorageBufferBindingSize.' },
    { label: 'maxBufferSize', message: 'Requested size exceeds maxBufferSize.' },
  ])('classifyFailure returns buffer-limit for $label', ({ message }) => {
    const failure = classifyFailure(new Error(message), RUNNING);

    expect(failure.status).toBe('buffer-limit');
    expect(failure.message).toBe(message);
  });

  it.each([
    { label: 'Invalid Buffer', message: INVALID_BUFFER_MESSAGE },
    { label: 'out of memory', message: 'Out of memory' },
    { label: 'out-of-memory', message: 'GPU out-of-memory while creating the buffer' },
    { label: 'allocation failed', message: 'Buffer allocation failed.' },
    { label: 'failed to allocate', message: 'Failed to allocate a 402653184-byte buffer.' },
  ])('classifyFailure returns oom for $label', ({ message }) => {
    const failure = classifyFailure(new Error(message), RUNNING);

    expect(failure.status).toBe('oom');
    expect(failure.message).toBe(message);
  });

  it('classifyFailure returns oom for an out-of-memory scope message', () => {
    const failure = classifyFailure(new Error('Some kernel failed'), {
      deviceLost: false,
      outOfMemoryMessage: 'Not enough memory left.',
    });

    expect(failure.status).toBe('oom');
    expect(failure.message).toBe('GPU out of memory: Not enough memory left.');
  });

  it('classifyFailure prefers buffer-limit over an out-of-memory scope message', () => {
    const failure = classifyFailure(new Error(BUFFER_SIZE_MESSAGE), { deviceLost: false, outOfMemoryMessage: 'Not enough memory left.' });

    expect(failure.status).toBe('buffer-limit');
  });

  it.each([
    { label: 'a failed download', error: new Error(DOWNLOAD_FAILED_MESSAGE), context: LOST },
    { label: 'a message about memory', error: new Error('Out of memory'), context: LOST },
    { label: 'an Invalid Buffer message', error: new Error(INVALID_BUFFER_MESSAGE), context: LOST },
    { label: 'a buffer size message', error: new Error(BUFFER_SIZE_MESSAGE), context: LOST },
    {
      label: 'an out-of-memory scope message',
      error: new Error(DOWNLOAD_FAILED_MESSAGE),
      context: { deviceLost: true, outOfMemoryMessage: 'Not enough memory left.' },
    },
  ])('classifyFailure returns device-lost for $label', ({ error, context }) => {
    const failure = classifyFailure(error, context);

    expect(failure.status).toBe('device-lost');
    expect(failure.message).toContain(error.message);
  });

  it('classifyFailure names the lost device in the message', () => {
    const failure = classifyFailure(new Error(DOWNLOAD_FAILED_MESSAGE), LOST);

    expect(failure.message).toBe(`The GPU device was lost during the run (${DOWNLOAD_FAILED_MESSAGE}).`);
  });

  it('classifyFailure returns error for other messages', () => {
    const message = "Non-zero status code returned while running Reshape node. Name:'Reshape_12'";
    const failure = classifyFailure(new Error(message), RUNNING);

    expect(failure.status).toBe('error');
    expect(failure.message).toBe(message);
  });

  it('classifyFailure returns error for a download failure on a live device', () => {
    const failure = classifyFailure(new Error(DOWNLOAD_FAILED_MESSAGE), RUNNING);

    expect(failure.status).toBe('error');
  });

  it.each([
    { label: 'a string', error: INVALID_BUFFER_MESSAGE, status: 'oom', message: INVALID_BUFFER_MESSAGE },
    { label: 'a plain string', error: 'session run failed', status: 'error', message: 'session run failed' },
    { label: 'an object', error: { code: 6, text: 'Out of memory' }, status: 'oom', message: '{"code":6,"text":"Out of memory"}' },
    { label: 'a number', error: 42, status: 'error', message: '42' },
    { label: 'null', error: null, status: 'error', message: 'null' },
    { label: 'undefined', error: undefined, status: 'error', message: 'undefined' },
    { label: 'a bigint', error: 10n, status: 'error', message: '10' },
  ])('classifyFailure handles $label thrown', ({ error, status, message }) => {
    const failure = classifyFailure(error, RUNNING);

    expect(failure.status).toBe(status);
    expect(failure.message).toBe(message);
  });

  it('classifyFailure returns device-lost for a string thrown', () => {
    expect(classifyFailure(DOWNLOAD_FAILED_MESSAGE, LOST).status).toBe('device-lost');
  });
});

describe('errorText', () => {
  it('errorText uses the name of an Error without a message', () => {
    expect(errorText(new TypeError())).toBe('TypeError');
  });

  it('errorText falls back to String for a circular object', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;

    expect(errorText(circular)).toBe('[object Object]');
  });

  it.each([
    { label: 'undefined', error: undefined, text: 'undefined' },
    { label: 'a function', error: function runSession() {}, text: 'function runSession() {}' },
    { label: 'a symbol', error: Symbol('lost'), text: 'Symbol(lost)' },
  ])('errorText returns a string for $label', ({ error, text }) => {
    const result = errorText(error);

    expect(typeof result).toBe('string');
    expect(result).toBe(text);
  });
});
