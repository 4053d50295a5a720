/** Display formatting, converted once here so that components never repeat unit arithmetic. */

export function formatDuration(durationMs: number): string {
  if (durationMs < 1000) return `${Math.round(durationMs)} ms`;
  const seconds = durationMs / 1000;
  if (seconds < 90) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

/** Binary units (MiB), since GPU memory sizes are powers of two. */
export function formatMebibytes(bytes: number | null): string {
  if (bytes === null) return '–';
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

export function formatRate(perSecond: number | null): string {
  if (perSecond === null) return '–';
  return perSecond >= 100 ? Math.round(perSecond).toLocaleString('en-US') : perSecond.toPrecision(3);
}

export function formatMs(durationMs: number | null): string {
  if (durationMs === null) return '–';
  return durationMs >= 100 ? Math.round(durationMs).toLocaleString('en-US') : durationMs.toFixed(2);
}

/** Formats a fraction as a percentage with one decimal, such as 0.0423 → "4.2%". */
export function formatPercent(fraction: number | null): string {
  if (fraction === null || !Number.isFinite(fraction)) return '–';
  return `${(fraction * 100).toFixed(1)}%`;
}

const FLOPS_PREFIXES: [number, string][] = [
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
];

/** FLOP/s with an SI prefix, such as 3.2e11 → "320 GFLOP/s". */
export function formatFlops(flopsPerSecond: number | null): string {
  if (flopsPerSecond === null || !Number.isFinite(flopsPerSecond)) return '–';
  for (const [scale, prefix] of FLOPS_PREFIXES) {
    if (flopsPerSecond >= scale) return `${(flopsPerSecond / scale).toPrecision(3)} ${prefix}FLOP/s`;
  }
  return `${flopsPerSecond.toPrecision(3)} FLOP/s`;
}
