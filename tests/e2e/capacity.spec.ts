/**
 * The capacity estimate on Chromium's WebGPU. The estimate is not part of the app bundle, so esbuild
 * bundles it with the simulated budget and the allocation tracker into a script that the test injects
 * into the built app's page, which is a secure context with navigator.gpu.
 *
 * SwiftShader backs GPU buffers with CPU memory, so every case here stays at or below 512 MiB.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test, type Page } from '@playwright/test';
import { build } from 'esbuild';
import type * as Capacity from '../../src/gpu/capacity';
import type { installMemoryBudget } from '../../src/gpu/budget';
import type { GpuMemoryTracker } from '../../src/gpu/accounting';

type CapacityHarness = typeof Capacity & {
  installMemoryBudget: typeof installMemoryBudget;
  GpuMemoryTracker: typeof GpuMemoryTracker;
  /** Requests a device with WebGPU's default limits, so maxBufferSize is 256 MiB. */
  requestTestDevice: () => Promise<GPUDevice>;
};

declare global {
  interface Window {
    capacityHarness?: CapacityHarness;
  }
}

const MiB = 1024 ** 2;
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const HARNESS_ENTRY = `
import * as capacity from './src/gpu/capacity';
import { installMemoryBudget } from './src/gpu/budget';
import { GpuMemoryTracker } from './src/gpu/accounting';

async function requestTestDevice() {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('WebGPU returned no adapter in this Chromium.');
  return adapter.requestDevice();
}

window.capacityHarness = { ...capacity, installMemoryBudget, GpuMemoryTracker, requestTestDevice };
`;

let harnessScript = '';

test.beforeAll(async () => {
  const result = await build({
    stdin: { contents: HARNESS_ENTRY, resolveDir: repoRoot, loader: 'ts', sourcefile: 'capacity-harness.ts' },
    bundle: true,
    write: false,
    format: 'iife',
    target: 'es2022',
    logLevel: 'silent',
  });
  harnessScript = result.outputFiles[0].text;
});

async function openHarness(page: Page): Promise<void> {
  await page.goto('/');
  await page.addScriptTag({ content: harnessScript });
  await page.waitForFunction(() => window.capacityHarness !== undefined);
}

test('estimate finds simulated budget', async ({ page }) => {
  await openHarness(page);

  const outcome = await page.evaluate(async (MiB) => {
    const harness = window.capacityHarness!;
    const device = await harness.requestTestDevice();
    const uncapturedErrors: string[] = [];
    device.addEventListener('uncapturederror', (event) => uncapturedErrors.push((event as GPUUncapturedErrorEvent).error.message));
    const tracker = new harness.GpuMemoryTracker(device);
    // A buffer that stays live, like a model's weights, so the estimate starts from a non-zero count.
    const resident = device.createBuffer({ size: MiB, usage: GPUBufferUsage.STORAGE });
    const startBytes = tracker.liveBytes;
    const budget = harness.installMemoryBudget(device, 600 * MiB, tracker, { label: '600MiB' });

    const estimate = await harness.estimateGpuCapacity(device, { stepBytes: 64 * MiB });

    const endBytes = tracker.liveBytes;
    const rejectionCount = budget.rejectionCount;
    budget.uninstall();
    // An empty scope stack makes popErrorScope reject, which shows that the estimate popped every scope it pushed.
    const extraPop = await device.popErrorScope().then(
      () => 'resolved',
      (error: Error) => error.name,
    );
    resident.destroy();
    device.destroy();
    return { estimate, startBytes, endBytes, rejectionCount, extraPop, uncapturedErrors };
  }, MiB);

  expect(outcome.estimate.stoppedBy).toBe('out-of-memory');
  expect(outcome.estimate.allocatedBytes).toBe(576 * MiB);
  expect(Math.abs(outcome.estimate.allocatedBytes - (600 * MiB - outcome.startBytes))).toBeLessThanOrEqual(64 * MiB);
  expect(outcome.estimate.steps).toBe(9);
  expect(outcome.estimate.freedBytes).toBe(576 * MiB);
  expect(outcome.estimate.message).toContain('Allocated 576 MiB in 9 steps of 64 MiB before an out-of-memory error');
  expect(outcome.estimate.message).toContain('Every buffer was destroyed again.');
  expect(outcome.startBytes).toBe(MiB);
  expect(outcome.endBytes).toBe(outcome.startBytes);
  expect(outcome.rejectionCount).toBe(1);
  expect(outcome.extraPop).toBe('OperationError');
  expect(outcome.uncapturedErrors).toEqual([]);
});

test('estimate stops at cap', async ({ page }) => {
  await openHarness(page);

  const outcome = await page.evaluate(async (MiB) => {
    const harness = window.capacityHarness!;
    const device = await harness.requestTestDevice();
    const tracker = new harness.GpuMemoryTracker(device);
    const reported: number[] = [];

    const estimate = await harness.estimateGpuCapacity(device, { stepBytes: 64 * MiB, capBytes: 256 * MiB, onStep: (bytes) => reported.push(bytes) });

    const endBytes = tracker.liveBytes;
    const peakBytes = tracker.peakBytes;
    device.destroy();
    return { estimate, endBytes, peakBytes, reported };
  }, MiB);

  expect(outcome.estimate.stoppedBy).toBe('cap');
  expect(outcome.estimate.allocatedBytes).toBe(256 * MiB);
  expect(outcome.estimate.steps).toBe(4);
  expect(outcome.estimate.message).toContain('stopped at the cap of 256 MiB');
  expect(outcome.reported).toEqual([64 * MiB, 128 * MiB, 192 * MiB, 256 * MiB]);
  expect(outcome.peakBytes).toBe(256 * MiB);
  expect(outcome.endBytes).toBe(0);
});

test('estimate lowers step to maxBufferSize', async ({ page }) => {
  await openHarness(page);

  const outcome = await page.evaluate(async (MiB) => {
    const harness = window.capacityHarness!;
    const device = await harness.requestTestDevice();
    const maxBufferSize = device.limits.maxBufferSize;
    const tracker = new harness.GpuMemoryTracker(device);

    const estimate = await harness.estimateGpuCapacity(device, { stepBytes: 2 * maxBufferSize, capBytes: 2 * maxBufferSize });

    const endBytes = tracker.liveBytes;
    device.destroy();
    return { estimate, endBytes, maxBufferSize, MiB };
  }, MiB);

  // A device with default limits has a maxBufferSize of 256 MiB, which keeps this case at 512 MiB.
  expect(outcome.maxBufferSize).toBe(256 * MiB);
  expect(outcome.estimate.stoppedBy).toBe('cap');
  expect(outcome.estimate.stepBytes).toBe(outcome.maxBufferSize);
  expect(outcome.estimate.steps).toBe(2);
  expect(outcome.estimate.message).toContain("steps of 256 MiB (the device's maxBufferSize)");
  expect(outcome.endBytes).toBe(0);
});

test('estimate reports a destroyed device', async ({ page }) => {
  await openHarness(page);

  const outcome = await page.evaluate(async (MiB) => {
    const harness = window.capacityHarness!;
    const device = await harness.requestTestDevice();
    const tracker = new harness.GpuMemoryTracker(device);

    const estimate = await harness.estimateGpuCapacity(device, {
      stepBytes: 64 * MiB,
      capBytes: 512 * MiB,
      onStep: (bytes) => {
        if (bytes >= 128 * MiB) device.destroy();
      },
    });

    return { estimate, endBytes: tracker.liveBytes };
  }, MiB);

  expect(outcome.estimate.stoppedBy).toBe('device-lost');
  expect(outcome.estimate.allocatedBytes).toBe(128 * MiB);
  expect(outcome.estimate.steps).toBe(2);
  expect(outcome.estimate.message).toContain('The GPU device was lost');
  expect(outcome.estimate.message).toContain('destroyed');
  expect(outcome.endBytes).toBe(0);
});

test('estimate stops when aborted', async ({ page }) => {
  await openHarness(page);

  const outcome = await page.evaluate(async (MiB) => {
    const harness = window.capacityHarness!;
    const device = await harness.requestTestDevice();
    const tracker = new harness.GpuMemoryTracker(device);

    const controller = new AbortController();
    const duringRun = await harness.estimateGpuCapacity(device, {
      stepBytes: 64 * MiB,
      capBytes: 512 * MiB,
      signal: controller.signal,
      onStep: (bytes) => {
        if (bytes >= 128 * MiB) controller.abort(new Error('user pressed cancel'));
      },
    });
    const endBytesAfterRun = tracker.liveBytes;
    const allocationsAfterRun = tracker.allocationCount;

    const beforeStart = await harness.estimateGpuCapacity(device, { stepBytes: 64 * MiB, signal: AbortSignal.abort() });
    const allocationsAfterAbortedStart = tracker.allocationCount;

    device.destroy();
    return { duringRun, endBytesAfterRun, allocationsAfterRun, beforeStart, allocationsAfterAbortedStart };
  }, MiB);

  expect(outcome.duringRun.stoppedBy).toBe('aborted');
  expect(outcome.duringRun.allocatedBytes).toBe(128 * MiB);
  expect(outcome.duringRun.message).toContain('user pressed cancel');
  expect(outcome.endBytesAfterRun).toBe(0);
  expect(outcome.allocationsAfterRun).toBe(2);
  expect(outcome.beforeStart.stoppedBy).toBe('aborted');
  expect(outcome.beforeStart.steps).toBe(0);
  expect(outcome.allocationsAfterAbortedStart).toBe(outcome.allocationsAfterRun);
});

test('estimate stops at a validation error', async ({ page }) => {
  await openHarness(page);

  const outcome = await page.evaluate(async (MiB) => {
    const harness = window.capacityHarness!;
    const device = await harness.requestTestDevice();
    const tracker = new harness.GpuMemoryTracker(device);
    // The third allocation requests 4 bytes more than maxBufferSize, which real WebGPU validation rejects.
    const createTrackedBuffer = device.createBuffer;
    let calls = 0;
    device.createBuffer = (descriptor: GPUBufferDescriptor) => {
      calls += 1;
      const size = calls === 3 ? device.limits.maxBufferSize + 4 : descriptor.size;
      return createTrackedBuffer.call(device, { ...descriptor, size });
    };

    const estimate = await harness.estimateGpuCapacity(device, { stepBytes: 16 * MiB, capBytes: 128 * MiB });

    const endBytes = tracker.liveBytes;
    device.destroy();
    return { estimate, endBytes };
  }, MiB);

  expect(outcome.estimate.stoppedBy).toBe('buffer-limit');
  expect(outcome.estimate.allocatedBytes).toBe(32 * MiB);
  expect(outcome.estimate.message).toMatch(/before a validation error: .*max buffer size/i);
  expect(outcome.endBytes).toBe(0);
});
