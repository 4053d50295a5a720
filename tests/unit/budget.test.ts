import { describe, expect, it, vi } from 'vitest';
import { formatBinaryBytes, installMemoryBudget, parseByteSize, type BudgetDevice, type GpuErrorConstructors } from '../../src/gpu/budget';
import { GpuMemoryTracker } from '../../src/gpu/accounting';
import { classifyFailure } from '../../src/gpu/classify';

const MAP_READ = 0x0001;
const MAP_WRITE = 0x0002;
const COPY_DST = 0x0008;
const STORAGE = 0x0080;

const MiB = 1024 ** 2;

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

/** A buffer that records whether the fake device considered its descriptor valid. */
class FakeBuffer {
  destroyCount = 0;
  constructor(
    readonly size: number,
    readonly usage: number,
    readonly valid: boolean,
    readonly mappedAtCreation: boolean,
    readonly label: string,
  ) {}

  destroy(): undefined {
    this.destroyCount += 1;
    return undefined;
  }
}

// GpuMemoryTracker patches GPUBuffer.prototype.destroy the first time it is constructed, so this file
// installs the fake buffer class as the global GPUBuffer.
vi.stubGlobal('GPUBuffer', FakeBuffer);

/**
 * A device with WebGPU's error-scope rules: an error goes to the innermost scope with its filter and
 * a scope keeps its first error, else the error is dispatched as `uncapturederror`. createBuffer is a
 * prototype method, as on a real GPUDevice, and rejects MAP_READ together with MAP_WRITE.
 */
class FakeDevice extends EventTarget {
  readonly scopes: { filter: GPUErrorFilter; error: Error | null }[] = [];
  readonly buffers: FakeBuffer[] = [];
  readonly uncapturedErrors: Error[] = [];

  constructor() {
    super();
    this.addEventListener('uncapturederror', (event) => this.uncapturedErrors.push((event as FakeUncapturedErrorEvent).error));
  }

  createBuffer(descriptor: GPUBufferDescriptor): GPUBuffer {
    const valid = (descriptor.usage & MAP_READ) === 0 || (descriptor.usage & MAP_WRITE) === 0;
    const buffer = new FakeBuffer(descriptor.size, descriptor.usage, valid, descriptor.mappedAtCreation ?? false, descriptor.label ?? '');
    this.buffers.push(buffer);
    if (!valid) this.report(new FakeValidationError('Buffer usage MapRead|MapWrite is invalid.'), 'validation');
    return buffer as unknown as GPUBuffer;
  }

  pushErrorScope(filter: GPUErrorFilter): undefined {
    this.scopes.push({ filter, error: null });
    return undefined;
  }

  popErrorScope(): Promise<GPUError | null> {
    const scope = this.scopes.pop();
    if (scope === undefined) return Promise.reject(new Error('OperationError: the error scope stack is empty.'));
    return Promise.resolve(scope.error as GPUError | null);
  }

  report(error: Error, filter: GPUErrorFilter): void {
    for (let index = this.scopes.length - 1; index >= 0; index -= 1) {
      if (this.scopes[index].filter !== filter) continue;
      this.scopes[index].error ??= error;
      return;
    }
    this.dispatchEvent(new FakeUncapturedErrorEvent('uncapturederror', { error }));
  }
}

function asDevice(device: FakeDevice): BudgetDevice & GPUDevice {
  return device as unknown as BudgetDevice & GPUDevice;
}

function storageBuffer(size: number, label = ''): GPUBufferDescriptor {
  return { size, usage: STORAGE | COPY_DST, label };
}

describe('parseByteSize', () => {
  it.each([
    ['512MiB', 512 * MiB],
    ['8GiB', 8 * 1024 ** 3],
    ['1.5 GB', 1_500_000_000],
    ['1024', 1024],
    ['1024 B', 1024],
    ['2kB', 2000],
    ['1.5 KiB', 1536],
    [' 4 gib ', 4 * 1024 ** 3],
    ['.5 MiB', 512 * 1024],
    ['3 MB', 3_000_000],
    ['1 TiB', 1024 ** 4],
  ])('parseByteSize reads "%s"', (text, expected) => {
    expect(parseByteSize(text)).toBe(expected);
  });

  it('parseByteSize rounds down to whole bytes', () => {
    expect(parseByteSize('1.0001 KiB')).toBe(1024);
  });

  it.each(['', 'abc', '8 G', '8 GiBs', '-1GiB', '1e9', 'GiB', '8 Gib extra'])('parseByteSize rejects "%s" and lists units', (text) => {
    expect(() => parseByteSize(text)).toThrow(RangeError);
    expect(() => parseByteSize(text)).toThrow(`"${text}"`);
    expect(() => parseByteSize(text)).toThrow(/KiB, MiB, GiB/);
  });

  it.each(['0', '0 GiB', '0.1 B'])('parseByteSize rejects zero size "%s"', (text) => {
    expect(() => parseByteSize(text)).toThrow(/at least 1 byte/);
  });

  it('parseByteSize rejects unsafe integers', () => {
    expect(() => parseByteSize('100000 TiB')).toThrow(/larger than/);
  });
});

describe('formatBinaryBytes', () => {
  it.each([
    [512, '512 B'],
    [1536, '1.5 KiB'],
    [512 * MiB, '512 MiB'],
    [8 * 1024 ** 3, '8 GiB'],
    [1.25 * 1024 ** 4, '1.25 TiB'],
  ])('formatBinaryBytes formats %d', (bytes, expected) => {
    expect(formatBinaryBytes(bytes)).toBe(expected);
  });
});

describe('installMemoryBudget', () => {
  it('passes allocations within the budget through', () => {
    const device = new FakeDevice();
    const budget = installMemoryBudget(asDevice(device), 100 * MiB, undefined, { errors: FAKE_ERRORS });

    const buffer = asDevice(device).createBuffer(storageBuffer(60 * MiB)) as unknown as FakeBuffer;
    asDevice(device).createBuffer(storageBuffer(40 * MiB));

    expect(buffer.valid).toBe(true);
    expect(buffer.usage).toBe(STORAGE | COPY_DST);
    expect(budget.liveBytes).toBe(100 * MiB);
    expect(budget.rejectionCount).toBe(0);
    expect(budget.takeRejection()).toBeNull();
    expect(device.uncapturedErrors).toEqual([]);
  });

  it('rejects an allocation above the budget with an invalid buffer', () => {
    const device = new FakeDevice();
    const budget = installMemoryBudget(asDevice(device), 100 * MiB, undefined, { errors: FAKE_ERRORS });
    asDevice(device).createBuffer(storageBuffer(80 * MiB));

    const rejected = asDevice(device).createBuffer({ ...storageBuffer(30 * MiB, 'scores'), mappedAtCreation: true }) as unknown as FakeBuffer;

    expect(rejected.valid).toBe(false);
    expect(rejected.size).toBe(30 * MiB);
    expect(rejected.mappedAtCreation).toBe(true);
    expect(rejected.label).toBe('scores');
    expect(budget.liveBytes).toBe(80 * MiB);
    expect(budget.rejectionCount).toBe(1);
    // The validation error of the invalid descriptor stays inside the budget's own scope.
    expect(device.scopes).toEqual([]);
    expect(device.uncapturedErrors.some((error) => error instanceof FakeValidationError)).toBe(false);
  });

  it('raises uncapturederror when no out-of-memory scope is open', () => {
    const device = new FakeDevice();
    installMemoryBudget(asDevice(device), 100 * MiB, undefined, { errors: FAKE_ERRORS });

    asDevice(device).createBuffer(storageBuffer(101 * MiB));

    expect(device.uncapturedErrors).toHaveLength(1);
    expect(device.uncapturedErrors[0]).toBeInstanceOf(FakeOutOfMemoryError);
    expect(device.uncapturedErrors[0].message).toMatch(/^Simulated out of memory/);
  });

  it('reports to the innermost out-of-memory scope', async () => {
    const device = new FakeDevice();
    installMemoryBudget(asDevice(device), 100 * MiB, undefined, { errors: FAKE_ERRORS });

    asDevice(device).pushErrorScope('out-of-memory');
    asDevice(device).pushErrorScope('validation');
    asDevice(device).createBuffer(storageBuffer(200 * MiB));
    const validationError = await asDevice(device).popErrorScope();
    const outOfMemoryError = await asDevice(device).popErrorScope();

    expect(validationError).toBeNull();
    expect(outOfMemoryError).toBeInstanceOf(FakeOutOfMemoryError);
    expect(device.uncapturedErrors).toEqual([]);
  });

  it('keeps the first error of a scope', async () => {
    const device = new FakeDevice();
    installMemoryBudget(asDevice(device), 100 * MiB, undefined, { errors: FAKE_ERRORS });

    asDevice(device).pushErrorScope('out-of-memory');
    asDevice(device).createBuffer(storageBuffer(200 * MiB, 'first'));
    asDevice(device).createBuffer(storageBuffer(300 * MiB, 'second'));
    const error = await asDevice(device).popErrorScope();

    expect(error?.message).toMatch(/buffer "first"/);
  });

  it('leaves errors of scopes without a rejection alone', async () => {
    const device = new FakeDevice();
    installMemoryBudget(asDevice(device), 100 * MiB, undefined, { errors: FAKE_ERRORS });

    asDevice(device).pushErrorScope('validation');
    asDevice(device).createBuffer({ size: 4, usage: MAP_READ | MAP_WRITE });
    const error = await asDevice(device).popErrorScope();

    expect(error).toBeInstanceOf(FakeValidationError);
  });

  it('passes an empty-stack popErrorScope rejection through', async () => {
    const device = new FakeDevice();
    installMemoryBudget(asDevice(device), 100 * MiB, undefined, { errors: FAKE_ERRORS });

    await expect(asDevice(device).popErrorScope()).rejects.toThrow(/empty/);
  });

  it('takeRejection returns the first message once', () => {
    const device = new FakeDevice();
    const budget = installMemoryBudget(asDevice(device), 100 * MiB, undefined, { errors: FAKE_ERRORS, label: '100MiB' });

    asDevice(device).createBuffer(storageBuffer(150 * MiB, 'first'));
    asDevice(device).createBuffer(storageBuffer(250 * MiB, 'second'));
    const message = budget.takeRejection();

    expect(message).toContain('buffer "first"');
    expect(message).toContain('157.29 MB');
    expect(message).toContain('above the simulated budget of 104.86 MB (100MiB)');
    expect(budget.takeRejection()).toBeNull();
    expect(budget.rejectionCount).toBe(2);
  });

  it('releases own counts on destroy, once', () => {
    const device = new FakeDevice();
    const budget = installMemoryBudget(asDevice(device), 100 * MiB, undefined, { errors: FAKE_ERRORS });
    const buffer = asDevice(device).createBuffer(storageBuffer(90 * MiB));

    buffer.destroy();
    buffer.destroy();
    asDevice(device).createBuffer(storageBuffer(90 * MiB));

    expect(budget.liveBytes).toBe(90 * MiB);
    expect(budget.rejectionCount).toBe(0);
    expect(device.buffers[0].destroyCount).toBe(2);
  });

  it('reads live bytes from the tracker', () => {
    const device = new FakeDevice();
    const tracker = new GpuMemoryTracker(asDevice(device));
    const budget = installMemoryBudget(asDevice(device), 100 * MiB, tracker, { errors: FAKE_ERRORS });

    const first = asDevice(device).createBuffer(storageBuffer(70 * MiB));
    const rejected = asDevice(device).createBuffer(storageBuffer(40 * MiB)) as unknown as FakeBuffer;

    expect(rejected.valid).toBe(false);
    // The rejected buffer bypasses the tracker's wrapper, so its bytes are never live.
    expect(tracker.liveBytes).toBe(70 * MiB);
    expect(tracker.allocationCount).toBe(1);
    expect(budget.liveBytes).toBe(tracker.liveBytes);

    first.destroy();
    const accepted = asDevice(device).createBuffer(storageBuffer(40 * MiB)) as unknown as FakeBuffer;

    expect(accepted.valid).toBe(true);
    expect(tracker.liveBytes).toBe(40 * MiB);
    expect(tracker.peakBytes).toBe(70 * MiB);
  });

  it('makes an engine-style run classify as oom', async () => {
    const device = new FakeDevice();
    const gpuDevice = asDevice(device);
    const tracker = new GpuMemoryTracker(gpuDevice);
    const budget = installMemoryBudget(gpuDevice, 64 * MiB, tracker, { errors: FAKE_ERRORS });
    gpuDevice.createBuffer(storageBuffer(48 * MiB, 'weights'));

    // As ProfilerEngine.runSession: an out-of-memory scope around the run.
    gpuDevice.pushErrorScope('out-of-memory');
    gpuDevice.createBuffer(storageBuffer(32 * MiB, 'attention scores'));
    const scopeError = await gpuDevice.popErrorScope();
    const failure = classifyFailure(new Error('Failed to download data from buffer'), {
      deviceLost: false,
      outOfMemoryMessage: scopeError?.message,
    });

    expect(failure.status).toBe('oom');
    expect(failure.message).toContain('attention scores');
    expect(budget.takeRejection()).toBe(scopeError?.message);
  });

  it('uninstall restores the device methods', () => {
    const device = new FakeDevice();
    const budget = installMemoryBudget(asDevice(device), MiB, undefined, { errors: FAKE_ERRORS });

    budget.uninstall();
    const buffer = asDevice(device).createBuffer(storageBuffer(10 * MiB)) as unknown as FakeBuffer;

    expect(buffer.valid).toBe(true);
    expect(Object.hasOwn(device, 'createBuffer')).toBe(false);
    expect(Object.hasOwn(device, 'pushErrorScope')).toBe(false);
    expect(Object.hasOwn(device, 'popErrorScope')).toBe(false);
  });

  it('uninstall puts back the tracker wrapper', () => {
    const device = new FakeDevice();
    const tracker = new GpuMemoryTracker(asDevice(device));
    const budget = installMemoryBudget(asDevice(device), MiB, tracker, { errors: FAKE_ERRORS });

    budget.uninstall();
    const buffer = asDevice(device).createBuffer(storageBuffer(10 * MiB)) as unknown as FakeBuffer;

    expect(buffer.valid).toBe(true);
    expect(tracker.liveBytes).toBe(10 * MiB);
  });

  it.each([0, -1, 1.5, Number.NaN])('installMemoryBudget rejects budget %s', (budgetBytes) => {
    expect(() => installMemoryBudget(asDevice(new FakeDevice()), budgetBytes, undefined, { errors: FAKE_ERRORS })).toThrow(RangeError);
  });

  it('installMemoryBudget requires error constructors', () => {
    expect(() => installMemoryBudget(asDevice(new FakeDevice()), MiB)).toThrow(/Pass `errors`/);
  });
});
