/**
 * A simulated GPU memory budget: "run as if the GPU had N GiB". It wraps `device.createBuffer` and
 * rejects any allocation that would raise the live buffer bytes above the budget. A rejected allocation
 * fails as a real out-of-memory does in WebGPU: `createBuffer` returns an invalid buffer, and a
 * GPUOutOfMemoryError goes to the innermost 'out-of-memory' error scope, or to `uncapturederror` when
 * no such scope is open.
 */
import { formatBytes } from '../models/feasibility';

/** Bytes per unit of `parseByteSize`, keyed by the lower-case unit. */
const BYTE_UNITS: Readonly<Record<string, number>> = Object.freeze({
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
});

const ACCEPTED_UNITS = 'B, kB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024)';

const BYTE_SIZE_PATTERN = /^(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)$/i;

/**
 * Parses a positive byte size such as "512MiB", "8GiB", "1.5 GB" or "1024" (bytes when there is no
 * unit). Units are case-insensitive. A fractional result is rounded down to whole bytes. Throws a
 * RangeError that names the value and the accepted units.
 */
export function parseByteSize(text: string): number {
  const match = BYTE_SIZE_PATTERN.exec(text.trim());
  if (match === null) {
    throw new RangeError(`Invalid byte size "${text}": expected a number and an optional unit, such as 8GiB or 1.5 GB. Units: ${ACCEPTED_UNITS}.`);
  }
  const [, amountText, unitText] = match;
  const unitBytes = BYTE_UNITS[(unitText || 'b').toLowerCase()];
  if (unitBytes === undefined) {
    throw new RangeError(`Invalid byte size "${text}": unknown unit "${unitText}". Units: ${ACCEPTED_UNITS}.`);
  }

  const bytes = Math.floor(Number(amountText) * unitBytes);
  if (bytes < 1) throw new RangeError(`Invalid byte size "${text}": expected at least 1 byte.`);
  if (!Number.isSafeInteger(bytes)) {
    throw new RangeError(`Invalid byte size "${text}": it is larger than ${Number.MAX_SAFE_INTEGER} bytes.`);
  }
  return bytes;
}

/** Formats a byte count with binary units and up to two decimals, as in "8 GiB" or "1.5 MiB". */
export function formatBinaryBytes(bytes: number): string {
  const units = ['TiB', 'GiB', 'MiB', 'KiB'] as const;
  for (let index = 0; index < units.length; index += 1) {
    const unitBytes = 1024 ** (units.length - index);
    if (Math.abs(bytes) >= unitBytes) return `${Number((bytes / unitBytes).toFixed(2))} ${units[index]}`;
  }
  return `${bytes} B`;
}

/** Constructors of the WebGPU error objects that a rejection raises, injectable so that Node tests need no WebGPU globals. */
export interface GpuErrorConstructors {
  outOfMemoryError: new (message: string) => GPUError;
  uncapturedErrorEvent: new (type: 'uncapturederror', init: { error: GPUError }) => Event;
}

/** The members of GPUDevice that the budget wraps or calls. */
export type BudgetDevice = Pick<GPUDevice, 'createBuffer' | 'pushErrorScope' | 'popErrorScope' | 'dispatchEvent'>;

/** A source of live buffer bytes, such as GpuMemoryTracker. */
export interface LiveBytesSource {
  readonly liveBytes: number;
}

export interface MemoryBudgetOptions {
  /** WebGPU error constructors. Default: the browser's GPUOutOfMemoryError and GPUUncapturedErrorEvent. */
  errors?: GpuErrorConstructors;
  /** Budget as the user wrote it, such as "8GiB", shown in rejection messages. */
  label?: string;
}

/** A budget installed on one device. */
export interface MemoryBudget {
  readonly budgetBytes: number;
  /** Live buffer bytes that the budget compares against, from the tracker when one was given. */
  readonly liveBytes: number;
  /** Allocations rejected since installation. */
  readonly rejectionCount: number;
  /**
   * Returns the message of the first allocation rejected since the previous call, or null when none
   * was, and clears it. Call it after each run, so that a run that did not throw despite an invalid
   * buffer is still reported as out of memory.
   */
  takeRejection(): string | null;
  /** Restores the device's createBuffer, pushErrorScope and popErrorScope, unless another wrapper replaced them since. */
  uninstall(): void;
}

/** GPUBufferUsage.MAP_READ and MAP_WRITE from the WebGPU specification, as numbers so that Node needs no WebGPU globals. */
const MAP_READ = 0x0001;
const MAP_WRITE = 0x0002;

interface ShadowScope {
  filter: GPUErrorFilter;
  error: GPUError | null;
}

/**
 * Installs a memory budget of `budgetBytes` on `device`.
 *
 * Live bytes come from `tracker` when it is given. Install the budget after constructing the tracker,
 * so that the budget's wrapper runs first: an accepted allocation then goes through the tracker, and a
 * rejected one never reaches it, so rejected bytes are never counted as live. Without a tracker the
 * budget counts the buffers it accepts itself, releasing them on `destroy`.
 *
 * Throws a RangeError for a budget that is not a positive whole number of bytes, and a TypeError when
 * WebGPU's error constructors are neither present nor passed in `options.errors`.
 */
export function installMemoryBudget(
  device: BudgetDevice,
  budgetBytes: number,
  tracker?: LiveBytesSource,
  options: MemoryBudgetOptions = {},
): MemoryBudget {
  if (!Number.isSafeInteger(budgetBytes) || budgetBytes < 1) {
    throw new RangeError(`Invalid GPU memory budget ${String(budgetBytes)}: expected a whole number of bytes ≥ 1.`);
  }
  const errors = options.errors ?? browserErrorConstructors();
  const budgetText = options.label ? `${formatBytes(budgetBytes)} (${options.label})` : `${formatBytes(budgetBytes)} (${formatBinaryBytes(budgetBytes)})`;

  const ownMethods = {
    createBuffer: Object.hasOwn(device, 'createBuffer'),
    pushErrorScope: Object.hasOwn(device, 'pushErrorScope'),
    popErrorScope: Object.hasOwn(device, 'popErrorScope'),
  };
  const previousCreateBuffer = device.createBuffer;
  const previousPushErrorScope = device.pushErrorScope;
  const previousPopErrorScope = device.popErrorScope;
  // NOTE: a device whose prototype has no createBuffer (a plain fake object) gets its invalid buffers
  // from the previous wrapper, so a tracker installed before the budget counts their bytes too.
  const invalidBufferFactory = findUnwrappedCreateBuffer(device) ?? previousCreateBuffer;

  const shadowScopes: ShadowScope[] = [];
  let ownLiveBytes = 0;
  let rejectionCount = 0;
  let pendingRejection: string | null = null;
  const liveBytes = (): number => (tracker ? tracker.liveBytes : ownLiveBytes);

  /** Counts an accepted buffer until its first `destroy`, for a budget without a tracker. */
  const countOwnBuffer = (buffer: GPUBuffer, bytes: number): void => {
    ownLiveBytes += bytes;
    const destroy = buffer.destroy;
    let destroyed = false;
    buffer.destroy = function destroyCounted(this: GPUBuffer): undefined {
      if (!destroyed) {
        destroyed = true;
        ownLiveBytes -= bytes;
      }
      return destroy.call(buffer);
    };
  };

  /** Creates an invalid buffer of the requested size and swallows the validation error that this raises. */
  const createInvalidBuffer = (descriptor: GPUBufferDescriptor): GPUBuffer => {
    // MAP_READ and MAP_WRITE together are always invalid, so the device returns an invalid buffer
    // object, as it does on a real allocation failure. The size and mappedAtCreation stay as requested.
    // NOTE: the invalid buffer's `usage` therefore reports these two extra flags.
    previousPushErrorScope.call(device, 'validation');
    const buffer = invalidBufferFactory.call(device, { ...descriptor, usage: descriptor.usage | MAP_READ | MAP_WRITE });
    previousPopErrorScope.call(device).catch(() => null);
    return buffer;
  };

  /** Sends the error where WebGPU sends an out-of-memory error: the innermost matching scope, else `uncapturederror`. */
  const raiseOutOfMemory = (message: string): void => {
    const error = new errors.outOfMemoryError(message);
    for (let index = shadowScopes.length - 1; index >= 0; index -= 1) {
      const scope = shadowScopes[index];
      if (scope.filter !== 'out-of-memory') continue;
      // A scope keeps only its first error, as in WebGPU.
      scope.error ??= error;
      return;
    }
    device.dispatchEvent(new errors.uncapturedErrorEvent('uncapturederror', { error }));
  };

  const createBuffer = (descriptor: GPUBufferDescriptor): GPUBuffer => {
    const requestedBytes = descriptor.size;
    // Sizes that WebGPU rejects itself (negative, fractional, not a number) go on to fail there.
    if (!Number.isSafeInteger(requestedBytes) || requestedBytes < 0) return previousCreateBuffer.call(device, descriptor);

    const currentBytes = liveBytes();
    if (currentBytes + requestedBytes > budgetBytes) {
      const bufferName = descriptor.label ? ` for buffer "${descriptor.label}"` : '';
      const message =
        `Simulated out of memory: allocating ${formatBytes(requestedBytes)}${bufferName} would raise live GPU buffers ` +
        `from ${formatBytes(currentBytes)} to ${formatBytes(currentBytes + requestedBytes)}, above the simulated budget of ${budgetText}.`;
      rejectionCount += 1;
      pendingRejection ??= message;
      const buffer = createInvalidBuffer(descriptor);
      raiseOutOfMemory(message);
      return buffer;
    }

    const buffer = previousCreateBuffer.call(device, descriptor);
    if (!tracker) countOwnBuffer(buffer, requestedBytes);
    return buffer;
  };

  const pushErrorScope = (filter: GPUErrorFilter): undefined => {
    previousPushErrorScope.call(device, filter);
    shadowScopes.push({ filter, error: null });
    return undefined;
  };

  const popErrorScope = (): Promise<GPUError | null> => {
    const scope = shadowScopes.pop();
    const realError = previousPopErrorScope.call(device);
    if (scope === undefined || scope.error === null) return realError;
    // The simulated error was raised at allocation time, before any error that the invalid buffer
    // causes later, so it wins over the real scope's error.
    const simulatedError = scope.error;
    return realError.then(() => simulatedError);
  };

  device.createBuffer = createBuffer;
  device.pushErrorScope = pushErrorScope;
  device.popErrorScope = popErrorScope;

  return {
    budgetBytes,
    get liveBytes() {
      return liveBytes();
    },
    get rejectionCount() {
      return rejectionCount;
    },
    takeRejection() {
      const message = pendingRejection;
      pendingRejection = null;
      return message;
    },
    uninstall() {
      restoreMethod(device, 'createBuffer', createBuffer, previousCreateBuffer, ownMethods.createBuffer);
      restoreMethod(device, 'pushErrorScope', pushErrorScope, previousPushErrorScope, ownMethods.pushErrorScope);
      restoreMethod(device, 'popErrorScope', popErrorScope, previousPopErrorScope, ownMethods.popErrorScope);
    },
  };
}

type WrappedMethod = 'createBuffer' | 'pushErrorScope' | 'popErrorScope';

/**
 * Puts back the method that was there before installation: the instance's own wrapper, or the prototype's
 * method by deleting the instance property. A method that another wrapper replaced since is left alone.
 */
function restoreMethod<Name extends WrappedMethod>(
  device: BudgetDevice,
  name: Name,
  installed: BudgetDevice[Name],
  previous: BudgetDevice[Name],
  previousWasOwn: boolean,
): void {
  if (device[name] !== installed) return;
  if (previousWasOwn) device[name] = previous;
  else delete (device as Partial<BudgetDevice>)[name];
}

/**
 * Returns the device class's own createBuffer, which wrappers set on the instance (GpuMemoryTracker's,
 * this budget's) do not reach, or null when the prototype has none, as with a plain fake object.
 */
function findUnwrappedCreateBuffer(device: BudgetDevice): GPUDevice['createBuffer'] | null {
  const prototype: unknown = Object.getPrototypeOf(device);
  if (prototype === null || typeof prototype !== 'object') return null;
  const createBuffer = (prototype as Partial<BudgetDevice>).createBuffer;
  return typeof createBuffer === 'function' ? createBuffer : null;
}

function browserErrorConstructors(): GpuErrorConstructors {
  const scope = globalThis as { GPUOutOfMemoryError?: unknown; GPUUncapturedErrorEvent?: unknown };
  if (typeof scope.GPUOutOfMemoryError !== 'function' || typeof scope.GPUUncapturedErrorEvent !== 'function') {
    throw new TypeError(
      'This environment has no GPUOutOfMemoryError or GPUUncapturedErrorEvent constructor, so a rejected allocation ' +
        'cannot raise a WebGPU error. Pass `errors` in the options of installMemoryBudget.',
    );
  }
  return {
    outOfMemoryError: scope.GPUOutOfMemoryError as GpuErrorConstructors['outOfMemoryError'],
    uncapturedErrorEvent: scope.GPUUncapturedErrorEvent as GpuErrorConstructors['uncapturedErrorEvent'],
  };
}
