/** Errors the profiler worker throws; they reach the page with their `name` and `details` intact. */

export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
  constructor(
    message: string,
    readonly details: { modelId: string },
  ) {
    super(message);
  }
}

export class NoModelError extends Error {
  override readonly name = 'NoModelError';
}

export class NoInputError extends Error {
  override readonly name = 'NoInputError';
}

export class NotInitializedError extends Error {
  override readonly name = 'NotInitializedError';
}

/** The loaded input does not fit the model: DNA for a protein model, or proteins for a DNA model. */
export class InputMismatchError extends Error {
  override readonly name = 'InputMismatchError';
}

/** Kernel times cannot be captured here: no WebGPU, or no timestamp-query feature. */
export class KernelProfileError extends Error {
  override readonly name = 'KernelProfileError';
}

/** An operation that only WebGPU can do was requested on the WASM backend. */
export class WebGpuRequiredError extends Error {
  override readonly name = 'WebGpuRequiredError';
}
