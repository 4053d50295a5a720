/**
 * Estimates how many bytes a WebGPU device can allocate, because WebGPU has no memory query. The
 * estimate allocates storage buffers one step at a time until an allocation fails, then destroys them
 * all. It is opt-in, because while it runs it keeps that memory allocated, so other GPU work on the
 * machine (other tabs, other programs) may fail for lack of memory.
 *
 * NOTE: the result is what could be allocated at that moment, as requested bytes, not the physical
 * memory. Drivers that page GPU memory out to system memory, and GPUs that share system memory, may
 * allocate past the physical size until `capBytes` stops the estimate. This was run only on SwiftShader
 * (which allocates CPU memory) and against the simulated budget of `./budget`, not on a hardware GPU.
 */
import { formatBinaryBytes } from './budget';
import { errorText } from './classify';

/** Reason an estimate stopped. 'buffer-limit' covers every validation error that an allocation step raised. */
export type CapacityStopReason = 'out-of-memory' | 'cap' | 'device-lost' | 'aborted' | 'buffer-limit';

export interface CapacityOptions {
  /**
   * Bytes allocated per step, as one buffer. Default 256 MiB, at least 1 MiB. A step above the device's
   * maxBufferSize is lowered to it, and every step is rounded down to a multiple of 4 bytes.
   */
  stepBytes?: number;
  /** Total bytes after which the estimate stops without an error. Default 16 GiB, at least `stepBytes`. */
  capBytes?: number;
  /** Called after each step that succeeded, with the total bytes allocated so far. */
  onStep?: (allocatedBytes: number) => void;
  /** Aborting this signal stops the estimate before its next step, with stoppedBy 'aborted'. */
  signal?: AbortSignal;
}

export interface CapacityEstimate {
  /** Total bytes of the steps that succeeded. */
  allocatedBytes: number;
  stoppedBy: CapacityStopReason;
  /** Steps that succeeded. */
  steps: number;
  /** Bytes per step that were used, after lowering to maxBufferSize and rounding to 4 bytes. */
  stepBytes: number;
  /** Sentence-form summary of the stop reason, the bytes allocated, and whether every buffer was destroyed. */
  message: string;
  /**
   * Bytes of the created buffers that were destroyed at the end. It equals `allocatedBytes` unless a
   * step failed after its buffer was created (a failed clear, or a device lost during the step).
   */
  freedBytes: number;
}

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

export const DEFAULT_CAPACITY_STEP_BYTES = 256 * MiB;
export const DEFAULT_CAPACITY_CAP_BYTES = 16 * GiB;
export const MIN_CAPACITY_STEP_BYTES = MiB;

/** GPUBufferUsage.COPY_DST and STORAGE from the WebGPU specification, as numbers so that Node needs no WebGPU globals. */
const COPY_DST = 0x0008;
const STORAGE = 0x0080;

/** clearBuffer works on whole 4-byte words, so every step is a multiple of this. */
const CLEAR_ALIGNMENT_BYTES = 4;

/** One buffer the estimate created. `valid` is false for the invalid buffer that a failed creation returns. */
interface StepBuffer {
  buffer: GPUBuffer;
  bytes: number;
  valid: boolean;
}

/** A failed step: the stop reason and the GPU error's message. */
interface StepFailure {
  stoppedBy: 'out-of-memory' | 'buffer-limit';
  errorMessage: string;
}

interface StopState {
  stoppedBy: CapacityStopReason;
  /** GPU error, loss reason or abort reason behind the stop, or null for the cap. */
  detail: string | null;
}

/**
 * Validates the options and fills in the defaults. Throws a RangeError that names the value when
 * stepBytes is not a whole number ≥ 1 MiB, or capBytes is not a whole number ≥ stepBytes.
 */
export function resolveCapacityOptions(options: CapacityOptions = {}): { stepBytes: number; capBytes: number } {
  const stepBytes = options.stepBytes ?? DEFAULT_CAPACITY_STEP_BYTES;
  const capBytes = options.capBytes ?? DEFAULT_CAPACITY_CAP_BYTES;
  if (!Number.isSafeInteger(stepBytes) || stepBytes < MIN_CAPACITY_STEP_BYTES) {
    throw new RangeError(`Invalid stepBytes ${String(stepBytes)}: expected a whole number of bytes ≥ ${MIN_CAPACITY_STEP_BYTES} (1 MiB).`);
  }
  if (!Number.isSafeInteger(capBytes) || capBytes < stepBytes) {
    throw new RangeError(`Invalid capBytes ${String(capBytes)}: expected a whole number of bytes ≥ stepBytes (${stepBytes}).`);
  }
  return { stepBytes, capBytes };
}

/**
 * Estimates the GPU memory that `device` can allocate now:
 *
 * 1. Validate the options, and lower the step to the device's maxBufferSize.
 * 2. Watch `device.lost`, because a lost device raises no errors in error scopes.
 * 3. Allocate one STORAGE buffer per step inside 'out-of-memory' and 'validation' error scopes, and
 *    clear it with a command so that allocators that commit memory on first use really commit it.
 *    Stop at the first out-of-memory or validation error, a lost device, the cap, or an abort. The last
 *    step before the cap is shortened so that the total reaches the cap exactly.
 * 4. Destroy every buffer in a `finally`, also when the device was lost or `onStep` threw.
 *
 * Every stop is returned as data, with a message. Throws a RangeError for invalid options (see
 * resolveCapacityOptions), and rethrows what `onStep` or the device throws after destroying the buffers.
 */
export async function estimateGpuCapacity(device: GPUDevice, options: CapacityOptions = {}): Promise<CapacityEstimate> {
  // 1. Options.
  const { stepBytes: requestedStepBytes, capBytes } = resolveCapacityOptions(options);
  const maxBufferSize = device.limits.maxBufferSize;
  const stepBytes = roundDownToAlignment(Math.min(requestedStepBytes, maxBufferSize));
  const stepLoweredToLimit = requestedStepBytes > maxBufferSize;

  // 2. Device loss. The handler runs on a later microtask, so the loop checks after every await.
  const lostState: { info: GPUDeviceLostInfo | null } = { info: null };
  const lost = device.lost.then((info) => {
    lostState.info = info;
  });

  // 3. Allocation steps.
  const buffers: StepBuffer[] = [];
  let allocatedBytes = 0;
  let steps = 0;
  let stop: StopState;
  let freed: DestroyOutcome;
  try {
    for (;;) {
      if (options.signal?.aborted) {
        stop = { stoppedBy: 'aborted', detail: abortReasonText(options.signal) };
        break;
      }
      if (lostState.info !== null) {
        stop = { stoppedBy: 'device-lost', detail: lostText(lostState.info) };
        break;
      }
      const chunkBytes = roundDownToAlignment(Math.min(stepBytes, capBytes - allocatedBytes));
      if (chunkBytes === 0) {
        stop = { stoppedBy: 'cap', detail: null };
        break;
      }

      const failure = await allocateStep(device, chunkBytes, steps + 1, buffers, lost);
      if (lostState.info !== null) {
        stop = { stoppedBy: 'device-lost', detail: lostText(lostState.info) };
        break;
      }
      if (failure !== null) {
        stop = { stoppedBy: failure.stoppedBy, detail: failure.errorMessage };
        break;
      }
      allocatedBytes += chunkBytes;
      steps += 1;
      options.onStep?.(allocatedBytes);
    }
  } finally {
    // 4. Cleanup, which also runs when onStep or the device threw.
    freed = destroyBuffers(buffers);
  }

  const message = describeEstimate({ allocatedBytes, steps, stepBytes, stepLoweredToLimit, capBytes, stop, freed, lostWasDestroy: lostState.info?.reason === 'destroyed' });
  return { allocatedBytes, stoppedBy: stop.stoppedBy, steps, stepBytes, message, freedBytes: freed.freedBytes };
}

/**
 * Allocates one buffer of `bytes` and clears it, each inside error scopes. The buffer is added to
 * `buffers` as soon as it exists, so the caller destroys it whatever happens next. Returns the first
 * error, or null when the step succeeded. Waits for the clear to finish, unless the device is lost first.
 */
async function allocateStep(device: GPUDevice, bytes: number, stepNumber: number, buffers: StepBuffer[], lost: Promise<void>): Promise<StepFailure | null> {
  const creation = await inErrorScopes(device, () => {
    const buffer = device.createBuffer({ label: `capacity estimate step ${stepNumber}`, size: bytes, usage: STORAGE | COPY_DST });
    const record: StepBuffer = { buffer, bytes, valid: false };
    buffers.push(record);
    return record;
  });
  const creationFailure = toStepFailure(creation.errors);
  if (creationFailure !== null) return creationFailure;
  creation.value.valid = true;

  const clear = await inErrorScopes(device, () => {
    const encoder = device.createCommandEncoder({ label: `capacity estimate clear ${stepNumber}` });
    encoder.clearBuffer(creation.value.buffer);
    device.queue.submit([encoder.finish()]);
  });
  const clearFailure = toStepFailure(clear.errors);
  if (clearFailure !== null) return clearFailure;

  // Waiting for the clear makes the memory committed before the next step allocates more.
  await Promise.race([device.queue.onSubmittedWorkDone(), lost]);
  return null;
}

interface ScopeErrors {
  outOfMemory: GPUError | null;
  validation: GPUError | null;
}

/**
 * Runs `action` inside an 'out-of-memory' scope with a 'validation' scope in it, and returns its value
 * and what each scope caught. Both scopes are popped also when `action` throws, so the device's scope
 * stack stays balanced.
 */
async function inErrorScopes<T>(device: GPUDevice, action: () => T): Promise<{ value: T; errors: ScopeErrors }> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let value: T;
  try {
    value = action();
  } catch (error) {
    // The action's error is the one to report, so a failed pop after it is ignored.
    await Promise.all([device.popErrorScope(), device.popErrorScope()]).catch(() => undefined);
    throw error;
  }
  const [validation, outOfMemory] = await Promise.all([device.popErrorScope(), device.popErrorScope()]);
  return { value, errors: { outOfMemory, validation } };
}

function toStepFailure(errors: ScopeErrors): StepFailure | null {
  // An out-of-memory allocation returns an invalid buffer, and using that buffer raises a validation
  // error as well, so out of memory is checked first.
  if (errors.outOfMemory !== null) return { stoppedBy: 'out-of-memory', errorMessage: errors.outOfMemory.message };
  if (errors.validation !== null) return { stoppedBy: 'buffer-limit', errorMessage: errors.validation.message };
  return null;
}

interface DestroyOutcome {
  freedBytes: number;
  /** Messages of `destroy` calls that threw. */
  failures: string[];
}

/** Destroys every buffer, going on past one whose `destroy` throws, so that the others are still freed. */
function destroyBuffers(buffers: readonly StepBuffer[]): DestroyOutcome {
  let freedBytes = 0;
  const failures: string[] = [];
  for (const { buffer, bytes, valid } of buffers) {
    try {
      buffer.destroy();
      if (valid) freedBytes += bytes;
    } catch (error) {
      failures.push(errorText(error));
    }
  }
  return { freedBytes, failures };
}

interface EstimateSummary {
  allocatedBytes: number;
  steps: number;
  stepBytes: number;
  stepLoweredToLimit: boolean;
  capBytes: number;
  stop: StopState;
  freed: DestroyOutcome;
  lostWasDestroy: boolean;
}

/** Builds the message: what was allocated, what stopped the estimate, and what happened to the buffers. */
function describeEstimate(summary: EstimateSummary): string {
  const { allocatedBytes, steps, stepBytes, stepLoweredToLimit, capBytes, stop, freed } = summary;
  const notes: string[] = [];
  if (stepLoweredToLimit) notes.push("the device's maxBufferSize");
  // Only the step that reaches the cap can be shorter than stepBytes.
  if (allocatedBytes < steps * stepBytes) notes.push('the last one shortened to the cap');
  const noteText = notes.length > 0 ? ` (${notes.join(', ')})` : '';
  const stepText = `${steps} ${steps === 1 ? 'step' : 'steps'} of ${formatBinaryBytes(stepBytes)}${noteText}`;
  const allocatedText = `Allocated ${formatBinaryBytes(allocatedBytes)} in ${stepText}`;

  let outcome: string;
  if (stop.stoppedBy === 'out-of-memory') {
    outcome = `${allocatedText} before an out-of-memory error: ${stop.detail}`;
  } else if (stop.stoppedBy === 'buffer-limit') {
    outcome = `${allocatedText} before a validation error: ${stop.detail}`;
  } else if (stop.stoppedBy === 'cap') {
    outcome = `${allocatedText} and stopped at the cap of ${formatBinaryBytes(capBytes)}, so the device can allocate at least that much.`;
  } else if (stop.stoppedBy === 'aborted') {
    outcome = `The estimate was aborted (${stop.detail}). ${allocatedText} before that, so the device can allocate at least that much.`;
  } else {
    const cause = summary.lostWasDestroy ? 'The device was destroyed while the estimate ran.' : 'Running out of memory is a likely cause.';
    outcome = `The GPU device was lost (${stop.detail}). ${allocatedText} before that. ${cause} Request a new device before using the GPU again.`;
  }

  const cleanup =
    freed.failures.length === 0
      ? 'Every buffer was destroyed again.'
      : `${freed.failures.length} of the buffers could not be destroyed (${freed.failures[0]}). Reload the page to release their memory.`;
  return `${endSentence(outcome)} ${cleanup}`;
}

function endSentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

function roundDownToAlignment(bytes: number): number {
  return Math.max(0, Math.floor(bytes / CLEAR_ALIGNMENT_BYTES) * CLEAR_ALIGNMENT_BYTES);
}

function lostText(info: GPUDeviceLostInfo): string {
  return info.message ? `reason "${info.reason}": ${info.message}` : `reason "${info.reason}"`;
}

function abortReasonText(signal: AbortSignal): string {
  return signal.reason === undefined ? 'no reason given' : errorText(signal.reason);
}
