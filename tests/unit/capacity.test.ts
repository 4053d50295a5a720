import { describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_CAPACITY_CAP_BYTES,
  DEFAULT_CAPACITY_STEP_BYTES,
  estimateGpuCapacity,
  resolveCapacityOptions,
  type CapacityOptions,
} from '../../src/gpu/capacity';
import { GpuMemoryTracker } from '../../src/gpu/accounting';
import { installMemoryBudget, type GpuErrorConstructors } from '../../src/gpu/budget';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

const MAP_READ = 0x0001;
const MAP_WRITE = 0x0002;

class FakeValidationError extends Error {
  override readonly name = 'GPUValidationError';
}

class FakeOutOfMemoryError extends Error {
  override readonly name = 'GPUOutOfMemoryError';
}

class FakeUncapturedErrorEvent extends Event {
  readonly error: Error;
  constructor(type: string, init: { error: Error }) {
    super(type);
    this.error = init.error;
  }
}

const FAKE_ERRORS = {
  outOfMemoryError: FakeOutOfMemoryError,
  uncapturedErrorEvent: FakeUncapturedErrorEvent,
} as unknown as GpuErrorConstructors;

class FakeBuffer {
  destroyCount = 0;
  constructor(
    readonly size: number,
    readonly valid: boolean,
  ) {}

  destroy(): undefined {
    this.destroyCount += 1;
    return undefined;
  }
}

// GpuMemoryTracker patches GPUBuffer.prototype.destroy the first time it is constructed, so this file
// installs the fake buffer class as the global GPUBuffer.
vi.stubGlobal('GPUBuffer', FakeBuffer);

interface FakeDeviceOptions {
  /** Bytes that valid buffers may use in total. An allocation past it fails as out of memory. */
  memoryBytes?: number;
  maxBufferSize?: number;
  /**
   * Commit memory on first use instead of at creation, as some allocators do: createBuffer always
   * succeeds, and the clear that commits past `memoryBytes` raises the out-of-memory error.
   */
  commitOnFirstUse?: boolean;
}

/**
 * A device with WebGPU's rules for what the estimate uses. Errors go to the innermost scope with their
 * filter, else to `uncapturederror`. A scope keeps its first error. An allocation that fails returns an
 * invalid buffer, and a command that uses an invalid buffer raises a validation error. Once the device
 * is lost, no call raises an error, popErrorScope resolves null, and `lost` resolves.
 */
class FakeDevice extends EventTarget {
  readonly scopes: { filter: GPUErrorFilter; error: Error | null }[] = [];
  readonly buffers: FakeBuffer[] = [];
  readonly uncapturedErrors: Error[] = [];
  readonly limits: { maxBufferSize: number };
  readonly lost: Promise<GPUDeviceLostInfo>;
  readonly queue = {
    submit: (commands: { buffers: FakeBuffer[] }[]) => this.submit(commands),
    onSubmittedWorkDone: () => Promise.resolve(undefined),
  };
  private resolveLost!: (info: GPUDeviceLostInfo) => void;
  private isLost = false;
  private committedBytes = 0;
  private readonly committed = new Set<FakeBuffer>();

  constructor(private readonly options: FakeDeviceOptions = {}) {
    super();
    this.limits = { maxBufferSize: options.maxBufferSize ?? GiB };
    this.lost = new Promise((resolve) => {
      this.resolveLost = resolve;
    });
    this.addEventListener('uncapturederror', (event) => this.uncapturedErrors.push((event as FakeUncapturedErrorEvent).error));
  }

  get liveValidBytes(): number {
    return this.buffers.filter((buffer) => buffer.valid && buffer.destroyCount === 0).reduce((total, buffer) => total + buffer.size, 0);
  }

  createBuffer(descriptor: GPUBufferDescriptor): GPUBuffer {
    const memoryBytes = this.options.memoryBytes ?? Number.POSITIVE_INFINITY;
    let valid = true;
    if ((descriptor.usage & MAP_READ) !== 0 && (descriptor.usage & MAP_WRITE) !== 0) {
      valid = false;
      this.report(new FakeValidationError('Buffer usage MapRead|MapWrite is invalid.'), 'validation');
    } else if (descriptor.size > this.limits.maxBufferSize) {
      valid = false;
      this.report(new FakeValidationError(`Buffer size (${descriptor.size}) exceeds the max buffer size limit (${this.limits.maxBufferSize}).`), 'validation');
    } else if (!this.options.commitOnFirstUse && this.liveValidBytes + descriptor.size > memoryBytes) {
      valid = false;
      this.report(new FakeOutOfMemoryError(`Allocation of ${descriptor.size} bytes failed.`), 'out-of-memory');
    }
    const buffer = new FakeBuffer(descriptor.size, valid);
    this.buffers.push(buffer);
    return buffer as unknown as GPUBuffer;
  }

  createCommandEncoder(): { clearBuffer: (buffer: FakeBuffer) => void; finish: () => { buffers: FakeBuffer[] } } {
    const used: FakeBuffer[] = [];
    return {
      clearBuffer: (buffer) => used.push(buffer),
      finish: () => ({ buffers: used }),
    };
  }

  pushErrorScope(filter: GPUErrorFilter): undefined {
    this.scopes.push({ filter, error: null });
    return undefined;
  }

  popErrorScope(): Promise<GPUError | null> {
    const scope = this.scopes.pop();
    if (scope === undefined) return Promise.reject(new Error('OperationError: the error scope stack is empty.'));
    return Promise.resolve(this.isLost ? null : (scope.error as GPUError | null));
  }

  destroy(): undefined {
    this.loseDevice('destroyed', 'Device was destroyed.');
    return undefined;
  }

  loseDevice(reason: GPUDeviceLostReason, message: string): void {
    this.isLost = true;
    this.resolveLost({ reason, message } as GPUDeviceLostInfo);
  }

  private submit(commands: { buffers: FakeBuffer[] }[]): undefined {
    for (const buffer of commands.flatMap((command) => command.buffers)) {
      if (!buffer.valid || buffer.destroyCount > 0) {
        this.report(new FakeValidationError('Invalid Buffer used in submit.'), 'validation');
        continue;
      }
      if (this.committed.has(buffer)) continue;
      if (this.committedBytes + buffer.size > (this.options.memoryBytes ?? Number.POSITIVE_INFINITY)) {
        this.report(new FakeOutOfMemoryError(`Committing ${buffer.size} bytes failed.`), 'out-of-memory');
        continue;
      }
      this.committed.add(buffer);
      this.committedBytes += buffer.size;
    }
    return undefined;
  }

  private report(error: Error, filter: GPUErrorFilter): void {
    if (this.isLost) return;
    for (let index = this.scopes.length - 1; index >= 0; index -= 1) {
      if (this.scopes[index].filter !== filter) continue;
      this.scopes[index].error ??= error;
      return;
    }
    this.dispatchEvent(new FakeUncapturedErrorEvent('uncapturederror', { error }));
  }
}

function asDevice(device: FakeDevice): GPUDevice {
  return device as unknown as GPUDevice;
}

describe('resolveCapacityOptions', () => {
  it('resolveCapacityOptions fills in defaults', () => {
    expect(resolveCapacityOptions()).toEqual({ stepBytes: DEFAULT_CAPACITY_STEP_BYTES, capBytes: DEFAULT_CAPACITY_CAP_BYTES });
    expect(DEFAULT_CAPACITY_STEP_BYTES).toBe(256 * MiB);
    expect(DEFAULT_CAPACITY_CAP_BYTES).toBe(16 * GiB);
  });

  it('resolveCapacityOptions accepts the smallest values', () => {
    expect(resolveCapacityOptions({ stepBytes: MiB, capBytes: MiB })).toEqual({ stepBytes: MiB, capBytes: MiB });
  });

  it.each([
    [{ stepBytes: 0 }, 'stepBytes 0'],
    [{ stepBytes: MiB - 1 }, `stepBytes ${MiB - 1}`],
    [{ stepBytes: MiB + 0.5 }, `stepBytes ${MiB + 0.5}`],
    [{ stepBytes: Number.NaN }, 'stepBytes NaN'],
    [{ stepBytes: Number.POSITIVE_INFINITY }, 'stepBytes Infinity'],
    [{ stepBytes: -64 * MiB }, `stepBytes ${-64 * MiB}`],
  ] as [CapacityOptions, string][])('resolveCapacityOptions rejects %o', (options, named) => {
    expect(() => resolveCapacityOptions(options)).toThrow(RangeError);
    expect(() => resolveCapacityOptions(options)).toThrow(`Invalid ${named}: expected a whole number of bytes ≥ 1048576 (1 MiB).`);
  });

  it.each([
    [{ stepBytes: 64 * MiB, capBytes: 64 * MiB - 1 }, `capBytes ${64 * MiB - 1}`, 64 * MiB],
    [{ capBytes: 128 * MiB }, `capBytes ${128 * MiB}`, DEFAULT_CAPACITY_STEP_BYTES],
    [{ stepBytes: MiB, capBytes: 2 * MiB + 0.5 }, `capBytes ${2 * MiB + 0.5}`, MiB],
    [{ stepBytes: MiB, capBytes: Number.NaN }, 'capBytes NaN', MiB],
  ] as [CapacityOptions, string, number][])('resolveCapacityOptions rejects %o', (options, named, stepBytes) => {
    expect(() => resolveCapacityOptions(options)).toThrow(RangeError);
    expect(() => resolveCapacityOptions(options)).toThrow(`Invalid ${named}: expected a whole number of bytes ≥ stepBytes (${stepBytes}).`);
  });
});

describe('estimateGpuCapacity', () => {
  it('estimate rejects invalid options before allocating', async () => {
    const device = new FakeDevice();

    await expect(estimateGpuCapacity(asDevice(device), { stepBytes: 1000 })).rejects.toThrow(RangeError);

    expect(device.buffers).toEqual([]);
  });

  it('estimate stops at the first out-of-memory error', async () => {
    const device = new FakeDevice({ memoryBytes: 600 * MiB });

    const estimate = await estimateGpuCapacity(asDevice(device), { stepBytes: 64 * MiB });

    expect(estimate.stoppedBy).toBe('out-of-memory');
    expect(estimate.allocatedBytes).toBe(576 * MiB);
    expect(estimate.steps).toBe(9);
    expect(estimate.stepBytes).toBe(64 * MiB);
    expect(estimate.freedBytes).toBe(576 * MiB);
    expect(estimate.message).toBe(
      'Allocated 576 MiB in 9 steps of 64 MiB before an out-of-memory error: Allocation of 67108864 bytes failed. Every buffer was destroyed again.',
    );
    expect(device.buffers).toHaveLength(10);
    expect(device.buffers.every((buffer) => buffer.destroyCount === 1)).toBe(true);
    expect(device.scopes).toEqual([]);
    expect(device.uncapturedErrors).toEqual([]);
  });

  it('estimate reports simulated budget as capacity', async () => {
    const device = new FakeDevice();
    const tracker = new GpuMemoryTracker(asDevice(device));
    const resident = asDevice(device).createBuffer({ size: 3 * MiB, usage: 0x80 });
    const budget = installMemoryBudget(asDevice(device), 600 * MiB, tracker, { errors: FAKE_ERRORS });

    const estimate = await estimateGpuCapacity(asDevice(device), { stepBytes: 64 * MiB });

    expect(estimate.stoppedBy).toBe('out-of-memory');
    expect(estimate.allocatedBytes).toBe(576 * MiB);
    expect(estimate.message).toMatch(/^Allocated 576 MiB in 9 steps of 64 MiB before an out-of-memory error: Simulated out of memory/);
    expect(tracker.liveBytes).toBe(3 * MiB);
    expect(tracker.liveBuffers).toBe(1);
    expect(budget.rejectionCount).toBe(1);
    expect(device.uncapturedErrors).toEqual([]);
    budget.uninstall();
    resident.destroy();
  });

  it('estimate catches out of memory on first use', async () => {
    const device = new FakeDevice({ memoryBytes: 100 * MiB, commitOnFirstUse: true });

    const estimate = await estimateGpuCapacity(asDevice(device), { stepBytes: 32 * MiB });

    expect(estimate.stoppedBy).toBe('out-of-memory');
    expect(estimate.allocatedBytes).toBe(96 * MiB);
    expect(estimate.message).toContain('Committing 33554432 bytes failed.');
    // The fourth buffer was created before its clear failed, so it is freed too.
    expect(estimate.freedBytes).toBe(128 * MiB);
    expect(device.buffers.every((buffer) => buffer.destroyCount === 1)).toBe(true);
  });

  it('estimate stops at the cap with a shortened last step', async () => {
    const device = new FakeDevice();
    const reported: number[] = [];

    const estimate = await estimateGpuCapacity(asDevice(device), { stepBytes: 64 * MiB, capBytes: 200 * MiB, onStep: (bytes) => reported.push(bytes) });

    expect(estimate.stoppedBy).toBe('cap');
    expect(estimate.allocatedBytes).toBe(200 * MiB);
    expect(estimate.steps).toBe(4);
    expect(reported).toEqual([64 * MiB, 128 * MiB, 192 * MiB, 200 * MiB]);
    expect(device.buffers.map((buffer) => buffer.size)).toEqual([64 * MiB, 64 * MiB, 64 * MiB, 8 * MiB]);
    expect(estimate.message).toBe(
      'Allocated 200 MiB in 4 steps of 64 MiB (the last one shortened to the cap) and stopped at the cap of 200 MiB, so the device can allocate at least that much. Every buffer was destroyed again.',
    );
  });

  it('estimate lowers the step to maxBufferSize', async () => {
    const device = new FakeDevice({ maxBufferSize: 100 * MiB + 2 });

    const estimate = await estimateGpuCapacity(asDevice(device), { stepBytes: 256 * MiB, capBytes: 300 * MiB });

    // 100 MiB + 2 is rounded down to a multiple of 4 bytes, which clearBuffer needs.
    expect(estimate.stepBytes).toBe(100 * MiB);
    expect(estimate.steps).toBe(3);
    expect(estimate.message).toContain("in 3 steps of 100 MiB (the device's maxBufferSize)");
  });

  it('estimate reports a validation error as buffer-limit', async () => {
    const device = new FakeDevice({ maxBufferSize: 64 * MiB });
    const createBuffer = device.createBuffer.bind(device);
    let calls = 0;
    device.createBuffer = (descriptor) => {
      calls += 1;
      return createBuffer(calls === 2 ? { ...descriptor, size: 65 * MiB } : descriptor);
    };

    const estimate = await estimateGpuCapacity(asDevice(device), { stepBytes: 16 * MiB, capBytes: 64 * MiB });

    expect(estimate.stoppedBy).toBe('buffer-limit');
    expect(estimate.allocatedBytes).toBe(16 * MiB);
    expect(estimate.message).toContain('before a validation error: Buffer size (68157440) exceeds the max buffer size limit (67108864).');
  });

  it('estimate reports a destroyed device', async () => {
    const device = new FakeDevice();
    const tracker = new GpuMemoryTracker(asDevice(device));

    const estimate = await estimateGpuCapacity(asDevice(device), {
      stepBytes: 64 * MiB,
      capBytes: GiB,
      onStep: (bytes) => {
        if (bytes >= 128 * MiB) device.destroy();
      },
    });

    expect(estimate.stoppedBy).toBe('device-lost');
    expect(estimate.allocatedBytes).toBe(128 * MiB);
    expect(estimate.steps).toBe(2);
    expect(estimate.message).toContain('The GPU device was lost (reason "destroyed": Device was destroyed.).');
    expect(estimate.message).toContain('The device was destroyed while the estimate ran.');
    expect(tracker.liveBytes).toBe(0);
    expect(device.buffers.every((buffer) => buffer.destroyCount === 1)).toBe(true);
  });

  it('estimate names memory as a likely cause of a loss', async () => {
    const device = new FakeDevice();

    const estimate = await estimateGpuCapacity(asDevice(device), {
      stepBytes: 64 * MiB,
      onStep: () => device.loseDevice('unknown', 'The GPU process crashed.'),
    });

    expect(estimate.stoppedBy).toBe('device-lost');
    expect(estimate.allocatedBytes).toBe(64 * MiB);
    expect(estimate.message).toContain('Running out of memory is a likely cause.');
  });

  it('estimate stops when the signal is aborted', async () => {
    const device = new FakeDevice();
    const controller = new AbortController();

    const estimate = await estimateGpuCapacity(asDevice(device), {
      stepBytes: 64 * MiB,
      signal: controller.signal,
      onStep: (bytes) => {
        if (bytes >= 192 * MiB) controller.abort(new Error('user pressed cancel'));
      },
    });

    expect(estimate.stoppedBy).toBe('aborted');
    expect(estimate.allocatedBytes).toBe(192 * MiB);
    expect(estimate.message).toBe(
      'The estimate was aborted (user pressed cancel). Allocated 192 MiB in 3 steps of 64 MiB before that, so the device can allocate at least that much. Every buffer was destroyed again.',
    );
    expect(device.buffers.every((buffer) => buffer.destroyCount === 1)).toBe(true);
  });

  it('estimate allocates nothing when aborted before start', async () => {
    const device = new FakeDevice();

    const estimate = await estimateGpuCapacity(asDevice(device), { signal: AbortSignal.abort() });

    expect(estimate.stoppedBy).toBe('aborted');
    expect(estimate.steps).toBe(0);
    expect(device.buffers).toEqual([]);
  });

  it('estimate frees buffers when onStep throws', async () => {
    const device = new FakeDevice();
    const failure = new Error('chart update failed');

    const estimate = estimateGpuCapacity(asDevice(device), {
      stepBytes: 64 * MiB,
      onStep: (bytes) => {
        if (bytes >= 128 * MiB) throw failure;
      },
    });

    await expect(estimate).rejects.toBe(failure);
    expect(device.buffers).toHaveLength(2);
    expect(device.buffers.every((buffer) => buffer.destroyCount === 1)).toBe(true);
  });

  it('estimate pops its scopes when createBuffer throws', async () => {
    const device = new FakeDevice();
    const createBuffer = device.createBuffer.bind(device);
    let calls = 0;
    device.createBuffer = (descriptor) => {
      calls += 1;
      if (calls === 3) throw new TypeError('createBuffer failed');
      return createBuffer(descriptor);
    };

    await expect(estimateGpuCapacity(asDevice(device), { stepBytes: 64 * MiB })).rejects.toThrow('createBuffer failed');

    expect(device.scopes).toEqual([]);
    expect(device.buffers).toHaveLength(2);
    expect(device.buffers.every((buffer) => buffer.destroyCount === 1)).toBe(true);
  });

  it('estimate destroys the rest when one destroy throws', async () => {
    const device = new FakeDevice();
    const createBuffer = device.createBuffer.bind(device);
    let calls = 0;
    device.createBuffer = (descriptor) => {
      calls += 1;
      const buffer = createBuffer(descriptor);
      if (calls === 1) {
        buffer.destroy = () => {
          throw new Error('destroy failed');
        };
      }
      return buffer;
    };

    const estimate = await estimateGpuCapacity(asDevice(device), { stepBytes: 64 * MiB, capBytes: 192 * MiB });

    expect(estimate.stoppedBy).toBe('cap');
    expect(estimate.freedBytes).toBe(128 * MiB);
    expect(device.buffers.slice(1).every((buffer) => buffer.destroyCount === 1)).toBe(true);
    expect(estimate.message).toContain('1 of the buffers could not be destroyed (destroy failed). Reload the page to release their memory.');
  });
});
