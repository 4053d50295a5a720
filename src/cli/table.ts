/** Plain-text rendering of a result for the terminal. */
import type { BatchUnit, KernelTimesReport, PointResult, ProfileResult, Recommendation } from '../report/result';

function cell(value: number | null, digits = 1): string {
  if (value === null) return '-';
  return value.toFixed(digits);
}

/**
 * Puts a message on one line and escapes its pipes, so that it stays in its Markdown table cell.
 * onnxruntime-web 1.30 ends the message of a failed WASM run with a line break, for example.
 */
function inlineCell(text: string): string {
  return text.replace(/\s+/g, ' ').trim().replace(/\|/g, '\\|');
}

/** Summarizes the output checks of a point: invalid, batching changes results, ok (spot check passed) or finite. */
function outputCheck(point: PointResult): string {
  if (point.status === 'invalid-output') return 'invalid';
  if (point.spotCheck) return point.spotCheck.agrees ? 'ok' : 'batch differs';
  return point.status === 'ok' ? 'finite' : '-';
}

/** Renders the points as an aligned text table (also valid Markdown), one row per batch size. */
export function formatResultTable(result: ProfileResult): string {
  const header = ['batch', 'sequences', 'tokens', 'padded tokens', 'median ms', 'p10 ms', 'p90 ms', 'CV %', 'runs', 'warm-up ms', 'sequences/s', 'tokens/s', 'GFLOP/s', 'peak MiB', 'output', 'status'];
  const rows = result.points.map((point) => [
    String(point.batchSize),
    String(point.sequences),
    String(point.tokens),
    String(point.paddedTokens),
    cell(point.medianMs),
    cell(point.p10Ms),
    cell(point.p90Ms),
    point.coefficientOfVariation == null ? '-' : (100 * point.coefficientOfVariation).toFixed(1) + (point.unstable ? ' unstable' : ''),
    String(point.runs),
    cell(point.warmupMs),
    cell(point.sequencesPerSecond, 2),
    cell(point.tokensPerSecond, 0),
    point.paddedFlopsPerSecond == null ? '-' : (point.paddedFlopsPerSecond / 1e9).toFixed(3),
    point.peakBytes === null ? '-' : (point.peakBytes / 2 ** 20).toFixed(1),
    outputCheck(point),
    point.status + (point.message && (point.status !== 'ok' || point.unstable || point.spotCheck?.agrees === false) ? `: ${inlineCell(point.message)}` : ''),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (column === header.length - 1 ? 0 : row[column].length))));
  const line = (values: string[]) => `| ${values.map((value, column) => (column === values.length - 1 ? value : value.padStart(widths[column]))).join(' | ')} |`;
  const separator = `|${widths.map((width, column) => (column === widths.length - 1 ? '---' : '-'.repeat(width + 1) + ':')).join('|')}|`;
  return [line(header), separator, ...rows.map(line)].join('\n');
}

export function formatSummary(result: ProfileResult): string {
  const adapter = result.environment.adapter;
  const device = adapter ? `${adapter.vendor} ${adapter.architecture}${adapter.isFallbackAdapter ? ' (fallback adapter: software, not a real GPU)' : ''}` : 'CPU';
  return [
    `Model: ${result.model.id} (${result.model.parameters.toLocaleString('en-US')} parameters, ${result.model.weights}), backend ${result.environment.backend}, device ${device}`,
    `Input: ${result.input.source === 'fasta' ? (result.input.fileName ?? 'FASTA file') : 'synthetic'}, ${result.input.sequenceCount} sequences, length min/median/max ${result.input.lengthStats.min}/${result.input.lengthStats.median}/${result.input.lengthStats.max}, ${result.input.truncatedCount} truncated`,
    ...(result.input.dna
      ? [
          `DNA: ${result.input.dna.recordCount} records, ${result.input.dna.chunkLengthBp === null ? 'whole sequences' : `${result.input.dna.chunkLengthBp} bp chunks (last piece: ${result.input.dna.lastChunkPolicy})`}, N share ${(100 * result.input.dna.nFraction).toFixed(2)}%, token counts ${result.input.dna.tokenCounts}`,
        ]
      : []),
    ...(result.input.translation
      ? [`Six-frame translation: ${result.input.translation.framesKept} frames kept from ${result.input.translation.chunkCount} chunks, ${result.input.translation.framesDropped} dropped for stop codons`]
      : []),
    `Sweep: ${result.sweep.unit} from ${result.sweep.min} to ${result.sweep.max} step ${result.sweep.step}${result.sweep.cancelled ? ' (cancelled)' : ''}`,
  ].join('\n');
}

/** Renders the recommendation line, e.g. "Recommendation: 3072 tokens per batch. <reason>". */
export function formatRecommendation(recommendation: Recommendation, unit: BatchUnit): string {
  const size = recommendation.recommendedBatchSize;
  if (size === null) return `Recommendation: none. ${recommendation.reason}`;
  const unitName = size === 1 ? unit.replace(/s$/, '') : unit;
  const worstCase = recommendation.worstCase ? `\nWorst case: ${recommendation.worstCase.message}` : '';
  return `Recommendation: ${size} ${unitName} per batch. ${recommendation.reason}${worstCase}`;
}

/** Renders kernel times per operator type as a text table, largest first. */
export function formatKernelTimes(kernelTimes: KernelTimesReport, batchSize: number, unit: BatchUnit): string {
  const lines = [`GPU time by operator type at ${batchSize} ${unit}: ${kernelTimes.totalGpuMs.toFixed(3)} ms per run over ${kernelTimes.runs} runs`];
  for (const row of kernelTimes.byOpType) {
    lines.push(`  ${row.opType.padEnd(28)} ${row.totalMs.toFixed(3).padStart(10)} ms  ${(row.share * 100).toFixed(1).padStart(5)}%  ${row.kernelCount} kernels`);
  }
  return lines.join('\n');
}
