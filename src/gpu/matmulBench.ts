/**
 * An fp32 matrix-multiply microbenchmark in WGSL. It measures the FLOP/s that this WebGPU device reaches
 * with a plain tiled kernel, so that a model's FLOP/s can be stated as a fraction of what the device
 * can do (`efficiencyFraction`).
 *
 * The figure is the peak of this kernel, not the hardware's datasheet peak. Tuned kernels (register
 * tiling, vec4 loads, subgroup matrices) are usually faster on a real GPU, so a model's fraction can
 * exceed 1 there.
 */
import { median } from '../profiling/stats';
import { createRng } from '../sequences/random';

/** Side of the square workgroup tile, and of the workgroup (16 × 16 = 256 invocations, WebGPU's default maximum). */
const TILE_SIZE = 16;
export const DEFAULT_MATMUL_SIZE = 256;
export const DEFAULT_MATMUL_REPEATS = 5;
/** Three 4096 × 4096 fp32 matrices take 64 MiB each, under WebGPU's default 128 MiB binding limit. */
export const MAX_MATMUL_SIZE = 4096;
/** A timestamp query set has at most 4096 queries, and each timed dispatch writes two. */
export const MAX_MATMUL_REPEATS = 2048;
/** Allowed |gpu − cpu| relative to Σ|a·b| of the dot product, since the dot product itself can be near 0. */
export const MATMUL_RELATIVE_TOLERANCE = 1e-3;
const SHADER_DESCRIPTION = 'tiled 16×16 fp32 (workgroup shared memory)';
const INPUT_SEED = 0x5eed;

export interface MatmulBenchOptions {
  /**
   * Side n of the square matrices in C = A·B, an integer from 1 to 4096. Default 256: 33.5 MFLOP per run,
   * which took 0.4 to 1.2 s per run on SwiftShader (Chromium 156, two busy CPU cores). Pass 2048 or more
   * on a real GPU: at 10 TFLOP/s, n = 256 takes about 3 µs, close to the resolution that browsers may
   * give GPU timestamps.
   */
  size?: number;
  /** Timed dispatches after the one warm-up dispatch, an integer from 1 to 2048. Default 5. */
  repeats?: number;
  /**
   * Time each dispatch with GPU timestamps (`timestampWrites` on the compute pass). Default: true where
   * the device has the `timestamp-query` feature. Passing true for a device without it throws. With
   * false, each run is timed on the wall clock from `queue.submit` to `onSubmittedWorkDone`.
   */
  useTimestamps?: boolean;
}

export interface MatmulPeak {
  /** Side n of the square matrices. */
  size: number;
  /** Floating-point operations of one run, 2·n³ (one multiply and one add per term). */
  flops: number;
  medianMs: number;
  /** Timed runs, warm-up excluded. */
  runs: number;
  /** Duration of each timed run, in run order. */
  durationsMs: number[];
  /** flops / median run time. */
  flopsPerSecond: number;
  timing: 'timestamp-query' | 'wall-clock';
  /** Short description of the kernel, such as "tiled 16×16 fp32 (workgroup shared memory)". */
  shader: string;
  /** Elements of C compared with a CPU dot product before timing. */
  verifiedElements: number;
  /** Largest |gpu − cpu| / Σ|a·b| over the verified elements. */
  maxRelativeError: number;
}

/** An element of C differs from the CPU dot product by more than the tolerance, so the kernel is broken. */
export class MatmulMismatchError extends Error {
  override readonly name = 'MatmulMismatchError';
  constructor(
    message: string,
    readonly details: { row: number; column: number; gpuValue: number; expectedValue: number; relativeError: number },
  ) {
    super(message);
  }
}

/** GPU timestamps gave a duration of 0 or less, finer than their resolution, so no FLOP/s can be derived. */
export class TimerResolutionError extends Error {
  override readonly name = 'TimerResolutionError';
}

/**
 * One invocation per element of C. Each workgroup walks the k dimension in 16-wide tiles: it loads a
 * 16 × 16 tile of A and of B into workgroup memory, waits at a barrier, and accumulates the 16 products.
 * Loads outside the matrix read as 0, so any n works, not only multiples of 16.
 */
const MATMUL_WGSL = /* wgsl */ `
struct Params {
  n: u32,
}

@group(0) @binding(0) var<storage, read> matrixA: array<f32>;
@group(0) @binding(1) var<storage, read> matrixB: array<f32>;
@group(0) @binding(2) var<storage, read_write> matrixC: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

const TILE: u32 = ${TILE_SIZE}u;
var<workgroup> tileA: array<array<f32, ${TILE_SIZE}>, ${TILE_SIZE}>;
var<workgroup> tileB: array<array<f32, ${TILE_SIZE}>, ${TILE_SIZE}>;

@compute @workgroup_size(${TILE_SIZE}, ${TILE_SIZE})
fn main(@builtin(global_invocation_id) globalId: vec3<u32>, @builtin(local_invocation_id) localId: vec3<u32>) {
  let n = params.n;
  let row = globalId.y;
  let column = globalId.x;
  let tileCount = (n + TILE - 1u) / TILE;
  var sum = 0.0;

  for (var tile = 0u; tile < tileCount; tile++) {
    let aColumn = tile * TILE + localId.x;
    let bRow = tile * TILE + localId.y;
    var aValue = 0.0;
    if (row < n && aColumn < n) {
      aValue = matrixA[row * n + aColumn];
    }
    var bValue = 0.0;
    if (bRow < n && column < n) {
      bValue = matrixB[bRow * n + column];
    }
    tileA[localId.y][localId.x] = aValue;
    tileB[localId.y][localId.x] = bValue;
    workgroupBarrier();

    for (var k = 0u; k < TILE; k++) {
      sum = sum + tileA[localId.y][k] * tileB[k][localId.x];
    }
    workgroupBarrier();
  }

  if (row < n && column < n) {
    matrixC[row * n + column] = sum;
  }
}
`;

function requireIntegerInRange(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`Invalid matmul ${name} ${String(value)}: expected an integer from ${min} to ${max}.`);
  }
}

/** Fills an n × n matrix, row-major, with seeded values in [-1, 1), so that sign errors show up too. */
function seededMatrix(size: number, seed: number): Float32Array<ArrayBuffer> {
  const rng = createRng(seed);
  const values = new Float32Array(size * size);
  for (let index = 0; index < values.length; index += 1) values[index] = rng() * 2 - 1;
  return values;
}

/** Corners, the center and a few seeded positions of C, without repeats. */
function sampleElements(size: number): Array<{ row: number; column: number }> {
  const last = size - 1;
  const center = Math.floor(size / 2);
  const candidates = [
    [0, 0],
    [0, last],
    [last, 0],
    [last, last],
    [center, center],
  ];
  const rng = createRng(INPUT_SEED + 2);
  for (let index = 0; index < 3; index += 1) {
    candidates.push([Math.floor(rng() * size), Math.floor(rng() * size)]);
  }
  const unique = new Map(candidates.map(([row, column]) => [`${row},${column}`, { row, column }]));
  return [...unique.values()];
}

/**
 * Runs `body` inside `validation` and `out-of-memory` error scopes and throws what they caught. The
 * scopes are popped even when `body` throws, because a scope left open would swallow the errors of
 * anyone else using the device, such as onnxruntime-web.
 */
async function withGpuErrorScopes<T>(device: GPUDevice, step: string, body: () => Promise<T>): Promise<T> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: { value: T } | { error: unknown };
  try {
    result = { value: await body() };
  } catch (error) {
    result = { error };
  }
  const validationError = await device.popErrorScope();
  const memoryError = await device.popErrorScope();

  if ('error' in result) throw result.error;
  if (memoryError) {
    throw new Error(`The GPU ran out of memory while ${step}: ${memoryError.message}. Pass a smaller size.`);
  }
  if (validationError) throw new Error(`WebGPU validation failed while ${step}: ${validationError.message}`);
  return result.value;
}

type TrackResource = <R extends GPUBuffer | GPUQuerySet>(resource: R) => R;

/** A byte range of a GPU buffer to read back. Offsets and lengths must be multiples of 4. */
interface ReadRegion {
  source: GPUBuffer;
  offsetBytes: number;
  byteLength: number;
}

/** Copies `regions`, packed in order, into a mapped staging buffer, submits `encoder` and returns the bytes. */
async function readBack(device: GPUDevice, track: TrackResource, encoder: GPUCommandEncoder, regions: ReadRegion[]): Promise<ArrayBuffer> {
  const totalBytes = regions.reduce((sum, region) => sum + region.byteLength, 0);
  const staging = track(device.createBuffer({ label: 'matmul readback', size: totalBytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }));
  let stagingOffsetBytes = 0;
  for (const region of regions) {
    encoder.copyBufferToBuffer(region.source, region.offsetBytes, staging, stagingOffsetBytes, region.byteLength);
    stagingOffsetBytes += region.byteLength;
  }
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const bytes = staging.getMappedRange().slice(0);
  staging.unmap();
  return bytes;
}

/**
 * Measures the fp32 matrix-multiply FLOP/s of `device` with a tiled WGSL kernel on n × n matrices.
 *
 * 1. Validate the options against their ranges and the device's buffer limits.
 * 2. Upload seeded A and B, and compile the pipeline (not timed).
 * 3. Run one warm-up dispatch and compare a few elements of C with CPU dot products. A mismatch throws
 *    MatmulMismatchError, so no FLOP/s is ever reported for a broken kernel.
 * 4. Time `repeats` dispatches, each in its own compute pass, with GPU timestamps or the wall clock.
 * 5. Return the median, and flops / median as the FLOP/s.
 *
 * Every buffer and query set it creates is destroyed before it returns or throws. Throws RangeError on
 * invalid options, and Error when the device lacks `timestamp-query` but `useTimestamps` is true.
 */
export async function measureMatmulPeak(device: GPUDevice, options: MatmulBenchOptions = {}): Promise<MatmulPeak> {
  // 1. Validate the options against their ranges and the device's buffer limits.
  const size = options.size ?? DEFAULT_MATMUL_SIZE;
  const repeats = options.repeats ?? DEFAULT_MATMUL_REPEATS;
  requireIntegerInRange('size', size, 1, MAX_MATMUL_SIZE);
  requireIntegerInRange('repeats', repeats, 1, MAX_MATMUL_REPEATS);
  const hasTimestamps = device.features.has('timestamp-query');
  const useTimestamps = options.useTimestamps ?? hasTimestamps;
  if (useTimestamps && !hasTimestamps) {
    throw new Error(
      'useTimestamps is true, but the device has no timestamp-query feature. Request the device with ' +
        "requiredFeatures: ['timestamp-query'] where the adapter has it, or pass useTimestamps: false.",
    );
  }
  const matrixBytes = size * size * Float32Array.BYTES_PER_ELEMENT;
  const bindingLimitBytes = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  if (matrixBytes > bindingLimitBytes) {
    throw new RangeError(
      `Invalid matmul size ${size}: each matrix needs ${matrixBytes} bytes, but this device binds at most ` +
        `${bindingLimitBytes} bytes per storage buffer. Pass a size of at most ${Math.floor(Math.sqrt(bindingLimitBytes / 4))}.`,
    );
  }

  const resources: Array<GPUBuffer | GPUQuerySet> = [];
  const track: TrackResource = (resource) => {
    resources.push(resource);
    return resource;
  };

  try {
    // 2. Upload seeded A and B, and compile the pipeline (not timed).
    const matrixA = seededMatrix(size, INPUT_SEED);
    const matrixB = seededMatrix(size, INPUT_SEED + 1);
    const workgroupsPerSide = Math.ceil(size / TILE_SIZE);
    const { pipeline, bindGroup, bufferC } = await withGpuErrorScopes(device, `preparing the ${size}×${size} matmul`, async () => {
      const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
      const bufferA = track(device.createBuffer({ label: 'matmul A', size: matrixBytes, usage: storage }));
      const bufferB = track(device.createBuffer({ label: 'matmul B', size: matrixBytes, usage: storage }));
      const bufferC = track(device.createBuffer({ label: 'matmul C', size: matrixBytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC }));
      // A uniform buffer is at least 16 bytes, the size of the padded Params struct.
      const paramsBuffer = track(device.createBuffer({ label: 'matmul params', size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST }));
      device.queue.writeBuffer(bufferA, 0, matrixA);
      device.queue.writeBuffer(bufferB, 0, matrixB);
      device.queue.writeBuffer(paramsBuffer, 0, new Uint32Array([size, 0, 0, 0]));

      const module = device.createShaderModule({ label: 'matmul', code: MATMUL_WGSL });
      const pipeline = await device.createComputePipelineAsync({ label: 'matmul', layout: 'auto', compute: { module, entryPoint: 'main' } });
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [bufferA, bufferB, bufferC, paramsBuffer].map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      return { pipeline, bindGroup, bufferC };
    });

    const encodeDispatch = (encoder: GPUCommandEncoder, timestampWrites?: GPUComputePassTimestampWrites): void => {
      const pass = encoder.beginComputePass(timestampWrites ? { timestampWrites } : {});
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(workgroupsPerSide, workgroupsPerSide);
      pass.end();
    };

    // 3. Run one warm-up dispatch and compare a few elements of C with CPU dot products.
    const samples = sampleElements(size);
    const sampledC = await withGpuErrorScopes(device, 'running the warm-up matmul', async () => {
      const encoder = device.createCommandEncoder();
      encodeDispatch(encoder);
      const regions = samples.map(({ row, column }) => ({ source: bufferC, offsetBytes: (row * size + column) * 4, byteLength: 4 }));
      return new Float32Array(await readBack(device, track, encoder, regions));
    });
    let maxRelativeError = 0;
    samples.forEach(({ row, column }, index) => {
      let expectedValue = 0;
      let magnitude = 0;
      for (let k = 0; k < size; k += 1) {
        const product = matrixA[row * size + k] * matrixB[k * size + column];
        expectedValue += product;
        magnitude += Math.abs(product);
      }
      const gpuValue = sampledC[index];
      const relativeError = Math.abs(gpuValue - expectedValue) / Math.max(magnitude, Number.MIN_VALUE);
      if (!(relativeError <= MATMUL_RELATIVE_TOLERANCE)) {
        throw new MatmulMismatchError(
          `The matmul kernel returned a wrong result: C[${row}][${column}] is ${gpuValue} on the GPU, but ` +
            `${expectedValue} on the CPU (relative error ${relativeError.toExponential(2)}, tolerance ` +
            `${MATMUL_RELATIVE_TOLERANCE}). No FLOP/s is reported for a broken kernel. Check the adapter and its driver.`,
          { row, column, gpuValue, expectedValue, relativeError },
        );
      }
      maxRelativeError = Math.max(maxRelativeError, relativeError);
    });

    // 4. Time `repeats` dispatches, each in its own compute pass.
    const durationsMs = await withGpuErrorScopes(device, 'timing the matmul', () =>
      useTimestamps ? timeWithTimestamps(device, track, encodeDispatch, repeats, size) : timeWithWallClock(device, encodeDispatch, repeats),
    );

    // 5. Return the median, and flops / median as the FLOP/s.
    const flops = 2 * size ** 3;
    const medianMs = median(durationsMs);
    return {
      size,
      flops,
      medianMs,
      runs: repeats,
      durationsMs,
      flopsPerSecond: flops / (medianMs / 1000),
      timing: useTimestamps ? 'timestamp-query' : 'wall-clock',
      shader: SHADER_DESCRIPTION,
      verifiedElements: samples.length,
      maxRelativeError,
    };
  } finally {
    for (const resource of resources) resource.destroy();
  }
}

/**
 * Times each dispatch between the GPU timestamps written at the start and end of its compute pass, so
 * submission and readback overhead is excluded. The WebGPU spec lets browsers quantize timestamps, so a
 * dispatch shorter than the quantum reads as 0 and throws TimerResolutionError.
 */
async function timeWithTimestamps(
  device: GPUDevice,
  track: TrackResource,
  encodeDispatch: (encoder: GPUCommandEncoder, timestampWrites?: GPUComputePassTimestampWrites) => void,
  repeats: number,
  size: number,
): Promise<number[]> {
  const queryCount = 2 * repeats;
  const queryBytes = queryCount * BigUint64Array.BYTES_PER_ELEMENT;
  const querySet = track(device.createQuerySet({ label: 'matmul timestamps', type: 'timestamp', count: queryCount }));
  const resolveBuffer = track(device.createBuffer({ label: 'matmul timestamps', size: queryBytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }));

  const encoder = device.createCommandEncoder();
  for (let run = 0; run < repeats; run += 1) {
    encodeDispatch(encoder, { querySet, beginningOfPassWriteIndex: 2 * run, endOfPassWriteIndex: 2 * run + 1 });
  }
  encoder.resolveQuerySet(querySet, 0, queryCount, resolveBuffer, 0);
  const timestampsNs = new BigUint64Array(await readBack(device, track, encoder, [{ source: resolveBuffer, offsetBytes: 0, byteLength: queryBytes }]));

  const durationsMs: number[] = [];
  for (let run = 0; run < repeats; run += 1) {
    const durationNs = timestampsNs[2 * run + 1] - timestampsNs[2 * run];
    // NOTE: never reached in tests. SwiftShader's timestamps resolved dispatches of about 0.3 ms, and
    // no fast GPU was available to produce a 0 ns reading.
    if (durationNs <= 0n) {
      throw new TimerResolutionError(
        `GPU timestamps gave ${durationNs} ns for timed run ${run + 1} of the ${size}×${size} matmul, which is ` +
          'below their resolution. Pass a larger size (for example 2048) or useTimestamps: false.',
      );
    }
    durationsMs.push(Number(durationNs) / 1e6);
  }
  return durationsMs;
}

/**
 * Times each dispatch on the wall clock, from `queue.submit` until `onSubmittedWorkDone` resolves. This
 * includes the submission and completion-callback latency, so at small sizes it understates the
 * kernel's FLOP/s.
 */
async function timeWithWallClock(
  device: GPUDevice,
  encodeDispatch: (encoder: GPUCommandEncoder) => void,
  repeats: number,
): Promise<number[]> {
  const durationsMs: number[] = [];
  for (let run = 0; run < repeats; run += 1) {
    const encoder = device.createCommandEncoder();
    encodeDispatch(encoder);
    const commands = encoder.finish();
    const startMs = performance.now();
    device.queue.submit([commands]);
    await device.queue.onSubmittedWorkDone();
    durationsMs.push(performance.now() - startMs);
  }
  return durationsMs;
}

/**
 * Returns the model's FLOP/s as a fraction of the measured matmul peak, or null without a usable peak
 * (null, or a peak FLOP/s that is not a positive finite number). The fraction can exceed 1, because the
 * peak comes from a plain tiled kernel and onnxruntime-web's kernels may be faster.
 * Throws RangeError when `modelFlopsPerSecond` is negative or not finite.
 */
export function efficiencyFraction(modelFlopsPerSecond: number, peak: MatmulPeak | null): number | null {
  if (!Number.isFinite(modelFlopsPerSecond) || modelFlopsPerSecond < 0) {
    throw new RangeError(`Invalid model FLOP/s ${String(modelFlopsPerSecond)}: expected a finite number ≥ 0.`);
  }
  if (peak === null || !Number.isFinite(peak.flopsPerSecond) || peak.flopsPerSecond <= 0) return null;
  return modelFlopsPerSecond / peak.flopsPerSecond;
}
