/**
 * Acquires the WebGPU device that onnxruntime-web runs on. The profiler creates the device itself, at
 * the adapter's maxima, and hands it to ORT: ORT's own device keeps WebGPU's default limits, and a large
 * tensor then fails with "Too many storage buffers" (measured with onnxruntime-web 1.30).
 */
import type { AdapterReport } from '../report/result';
import { WebGpuUnavailableError } from './errors';

/** Limits requested at the adapter's maximum, because transformer graphs exceed the defaults. */
export const REQUESTED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxBindGroups',
] as const;

/** Features requested where the adapter has them. fp16 graphs need `shader-f16`; kernel timing needs `timestamp-query`. */
export const OPTIONAL_FEATURES: GPUFeatureName[] = ['shader-f16', 'timestamp-query', 'subgroups', 'subgroup-size-control'] as GPUFeatureName[];

export interface AcquiredDevice {
  adapter: GPUAdapter;
  device: GPUDevice;
  adapterReport: AdapterReport;
  limits: Record<string, number>;
  features: string[];
}

export interface DeviceOptions {
  /** Caps the requested maxBufferSize, in bytes; WebGPU raises a value below its default to the default. */
  maxBufferSizeBytes?: number;
}

/**
 * Requests a high-performance adapter and a device with its maximal limits (maxBufferSize capped by
 * `options`) and the optional features it has.
 */
export async function acquireDevice(gpu: GPU | undefined = globalThis.navigator?.gpu, options: DeviceOptions = {}): Promise<AcquiredDevice> {
  if (!gpu) {
    throw new WebGpuUnavailableError(
      'This browser exposes no WebGPU (navigator.gpu is missing). Use a recent Chrome or Edge over https or http://localhost, or pick the WASM backend.',
    );
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new WebGpuUnavailableError(
      'WebGPU returned no adapter: the GPU may be blocklisted or disabled. Check chrome://gpu, or pick the WASM backend.',
    );
  }

  const requiredLimits: Record<string, number> = {};
  for (const name of REQUESTED_LIMITS) {
    const value = (adapter.limits as unknown as Record<string, number>)[name];
    if (typeof value === 'number') requiredLimits[name] = value;
  }
  if (options.maxBufferSizeBytes !== undefined && requiredLimits.maxBufferSize !== undefined) {
    requiredLimits.maxBufferSize = Math.min(requiredLimits.maxBufferSize, options.maxBufferSizeBytes);
    requiredLimits.maxStorageBufferBindingSize = Math.min(requiredLimits.maxStorageBufferBindingSize, requiredLimits.maxBufferSize);
  }
  const requiredFeatures = OPTIONAL_FEATURES.filter((feature) => adapter.features.has(feature));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });

  const info = adapter.info;
  return {
    adapter,
    device,
    adapterReport: {
      vendor: info.vendor,
      architecture: info.architecture,
      description: info.description,
      isFallbackAdapter: Boolean((info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter ?? (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter),
    },
    limits: readLimits(device.limits),
    features: [...device.features].sort(),
  };
}

/** Copies every numeric limit of a device, since GPUSupportedLimits does not serialize to JSON. */
export function readLimits(limits: GPUSupportedLimits): Record<string, number> {
  const result: Record<string, number> = {};
  for (const key in limits) {
    const value = (limits as unknown as Record<string, unknown>)[key];
    if (typeof value === 'number') result[key] = value;
  }
  return result;
}
