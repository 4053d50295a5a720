/**
 * Carries thrown errors across the worker boundary as structured data (name, message, details) and
 * rebuilds them on the page, where comlink's default handler would keep only name and message.
 * Both sides import this module, so the handler is registered on both.
 */
import * as Comlink from 'comlink';

export interface SerializedError {
  name: string;
  message: string;
  details?: unknown;
  stack?: string;
}

/** An error thrown in the worker, rebuilt on the page with its original `name` and `details`. */
export class ProfilerWorkerError extends Error {
  override name: string;
  readonly details: unknown;
  constructor(serialized: SerializedError) {
    super(serialized.message);
    this.name = serialized.name;
    this.details = serialized.details;
    if (serialized.stack) this.stack = serialized.stack;
  }
}

export function serializeError(value: unknown): SerializedError {
  if (value instanceof Error) {
    const details = (value as Error & { details?: unknown }).details;
    return { name: value.name, message: value.message, details: details === undefined ? undefined : structuredCloneSafe(details), stack: value.stack };
  }
  return { name: 'Error', message: String(value) };
}

function structuredCloneSafe(value: unknown): unknown {
  try {
    return structuredClone(value);
  } catch {
    return String(value);
  }
}

// comlink does not export its marker for thrown values, so the built-in handler's test is reused.
const builtInThrowHandler = Comlink.transferHandlers.get('throw');
if (!builtInThrowHandler) throw new Error('comlink has no built-in "throw" transfer handler; check the comlink version.');

Comlink.transferHandlers.set('throw', {
  canHandle: (value: unknown): value is { value: unknown } => builtInThrowHandler.canHandle(value),
  serialize: ({ value }: { value: unknown }) => [serializeError(value), []],
  deserialize: (serialized: SerializedError) => {
    throw new ProfilerWorkerError(serialized);
  },
} as Comlink.TransferHandler<{ value: unknown }, SerializedError>);
