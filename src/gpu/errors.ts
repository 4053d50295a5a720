/**
 * Error classes for GPU failure modes. Each has its own `name`, so code and tests can tell them apart
 * after they cross the worker boundary as plain data.
 */

/** The browser has no WebGPU, or no adapter was returned. */
export class WebGpuUnavailableError extends Error {
  override readonly name = 'WebGpuUnavailableError';
}

/** A model or a batch needs a buffer larger than a device limit allows. */
export class BufferLimitError extends Error {
  override readonly name = 'BufferLimitError';
  constructor(
    message: string,
    readonly details: { tensor: string; bytes: number; limitName: string; limitBytes: number },
  ) {
    super(message);
  }
}

/** The GPU device was lost while the profiler held it. */
export class DeviceLostError extends Error {
  override readonly name = 'DeviceLostError';
}
