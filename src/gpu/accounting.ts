/**
 * Counts GPU buffer allocations, since WebGPU has no memory query. onnxruntime-web's wasm glue calls
 * `device.createBuffer` from JavaScript, so wrapping it and `GPUBuffer.prototype.destroy` counts every
 * buffer: weights, activations, uniforms and staging buffers.
 *
 * The webgpu-memory package reports live totals per object type, but no peak and no hook where the
 * simulated budget can reject an allocation, so this module counts allocations itself.
 *
 * NOTE: the counts are requested bytes. Driver padding and alignment, and the wasm heap (up to 4 GiB),
 * are not seen, so the real footprint on the GPU is somewhat higher than `peakBytes`.
 */

const trackerByBuffer = new WeakMap<GPUBuffer, { tracker: GpuMemoryTracker; bytes: number }>();
let destroyPatched = false;

function patchDestroyOnce(): void {
  if (destroyPatched || typeof GPUBuffer === 'undefined') return;
  destroyPatched = true;
  const originalDestroy = GPUBuffer.prototype.destroy;
  GPUBuffer.prototype.destroy = function destroy(this: GPUBuffer) {
    const entry = trackerByBuffer.get(this);
    if (entry) {
      trackerByBuffer.delete(this);
      entry.tracker.release(entry.bytes);
    }
    return originalDestroy.call(this);
  };
}

/** Live and peak bytes of the buffers that one device allocated. */
export class GpuMemoryTracker {
  liveBytes = 0;
  peakBytes = 0;
  liveBuffers = 0;
  allocationCount = 0;

  /** Wraps `device.createBuffer` so that every later allocation on this device is counted. */
  constructor(device: GPUDevice) {
    patchDestroyOnce();
    const originalCreateBuffer = device.createBuffer.bind(device);
    device.createBuffer = (descriptor: GPUBufferDescriptor): GPUBuffer => {
      const buffer = originalCreateBuffer(descriptor);
      this.track(buffer, descriptor.size);
      return buffer;
    };
  }

  /** Starts a new peak window at the current live bytes. */
  resetPeak(): void {
    this.peakBytes = this.liveBytes;
  }

  /** Forgets every buffer, for a device that was destroyed or lost (which frees all its buffers). */
  forgetAll(): void {
    this.liveBytes = 0;
    this.liveBuffers = 0;
  }

  private track(buffer: GPUBuffer, bytes: number): void {
    trackerByBuffer.set(buffer, { tracker: this, bytes });
    this.liveBytes += bytes;
    this.liveBuffers += 1;
    this.allocationCount += 1;
    if (this.liveBytes > this.peakBytes) this.peakBytes = this.liveBytes;
  }

  /** Called from the patched `destroy`. */
  release(bytes: number): void {
    this.liveBytes -= bytes;
    this.liveBuffers -= 1;
  }
}
