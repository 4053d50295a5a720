/**
 * Sorts a failed run into the statuses of the result contract. The rules come from failures observed
 * with onnxruntime-web 1.30 on Chromium's WebGPU.
 */
import type { PointStatus } from '../report/result';

export interface FailureContext {
  /** True when `device.lost` resolved during or before the run. */
  deviceLost: boolean;
  /** Message of an `out-of-memory` GPU error caught by an error scope or `uncapturederror`, if any. */
  outOfMemoryMessage?: string;
}

export interface ClassifiedFailure {
  status: Exclude<PointStatus, 'ok' | 'invalid-output'>;
  message: string;
}

const BUFFER_LIMIT_PATTERNS = [/exceeds the max buffer size limit/i, /exceeds the max(imum)? storage buffer binding size/i, /maxStorageBufferBindingSize/i, /maxBufferSize/i];
/** An allocation that fails for memory returns an invalid buffer, which later commands report by this text. */
const OUT_OF_MEMORY_PATTERNS = [/out of memory/i, /out-of-memory/i, /invalid buffer/i, /allocation failed/i, /failed to allocate/i];

/** Classifies a run failure. A lost device is never reported as out of memory, even though memory is a common cause. */
export function classifyFailure(error: unknown, context: FailureContext): ClassifiedFailure {
  const text = errorText(error);
  if (context.deviceLost) {
    return { status: 'device-lost', message: `The GPU device was lost during the run (${text}).` };
  }
  if (BUFFER_LIMIT_PATTERNS.some((pattern) => pattern.test(text))) {
    return { status: 'buffer-limit', message: text };
  }
  if (context.outOfMemoryMessage !== undefined) {
    return { status: 'oom', message: `GPU out of memory: ${context.outOfMemoryMessage}` };
  }
  if (OUT_OF_MEMORY_PATTERNS.some((pattern) => pattern.test(text))) {
    return { status: 'oom', message: text };
  }
  return { status: 'error', message: text };
}

/** Returns a readable message for anything that was thrown, including ORT's non-Error rejections. */
export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'string') return error;
  try {
    // JSON.stringify returns undefined, not a string, for undefined, functions and symbols.
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}
