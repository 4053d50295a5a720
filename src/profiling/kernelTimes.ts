/**
 * GPU kernel times from onnxruntime-web's profiler, summed per ONNX operator type.
 *
 * How onnxruntime-web 1.30 (native WebGPU execution provider) reports them:
 * - A session created with `enableProfiling: true`, on a device with the `timestamp-query` feature,
 *   records a GPU timestamp pair around every compute dispatch. Without that feature it records none.
 * - `session.endProfiling()` writes every event since session creation as a Chrome-trace JSON array to
 *   the wasm module's stdout, and Emscripten passes stdout to `console.log`, one line per call: "[",
 *   one event per line, then "]".
 * - GPU kernel events have `cat: "Api"`, a `name` of the form `node&OpType&Program` (for example
 *   `/layers.0/attn/MatMul&MatMul&MatMulNaive`) and `dur` in µs, rounded to whole µs. Events with
 *   `cat` "Session" or "Node" are CPU-side.
 */

/** One Chrome-trace event as onnxruntime writes it. */
export interface TraceEvent {
  /** Category: "Api" for GPU kernels, "Session" and "Node" for CPU-side events. */
  cat: string;
  name: string;
  /** Start time in µs. GPU events count from the first GPU timestamp, CPU events from profiling start. */
  ts: number;
  /** Duration in µs. */
  dur: number;
  ph?: string;
  pid?: number;
  tid?: number;
  args?: Record<string, unknown>;
}

/** The parts of a GPU kernel event's name, `node&OpType&Program`. */
export interface KernelName {
  nodeName: string;
  opType: string;
  programName: string;
}

/** GPU time of one ONNX operator type, per profiled run. */
export interface OpTypeTime {
  opType: string;
  /** GPU time of this operator type in one run, averaged over the runs. */
  totalMs: number;
  /** Kernel dispatches of this operator type in one run, averaged over the runs. */
  kernelCount: number;
  /** Fraction of all GPU kernel time, from 0 to 1. */
  share: number;
}

export interface KernelTimeSummary {
  /** Runs the trace covers, as passed by the caller. */
  runs: number;
  /** Summed GPU kernel time of one run, averaged over the runs. */
  totalGpuMs: number;
  /** GPU kernel events in the trace, over all runs. */
  kernelEventCount: number;
  /** Sorted by `totalMs`, largest first. */
  byOpType: OpTypeTime[];
}

/** The trace has no GPU kernel events, so there is nothing to summarize. */
export class NoKernelEventsError extends Error {
  override readonly name = 'NoKernelEventsError';
}

/** Category of the GPU kernel events that onnxruntime's WebGPU profiler records. */
export const KERNEL_EVENT_CATEGORY = 'Api';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Returns the value as a TraceEvent when it has the fields every onnxruntime trace event has, else null. */
function toTraceEvent(value: unknown): TraceEvent | null {
  if (!isRecord(value)) return null;
  const { cat, name, ts, dur } = value;
  if (typeof cat !== 'string' || typeof name !== 'string') return null;
  if (typeof ts !== 'number' || !Number.isFinite(ts)) return null;
  if (typeof dur !== 'number' || !Number.isFinite(dur) || dur < 0) return null;

  const event: TraceEvent = { cat, name, ts, dur };
  if (typeof value.ph === 'string') event.ph = value.ph;
  if (typeof value.pid === 'number') event.pid = value.pid;
  if (typeof value.tid === 'number') event.tid = value.tid;
  if (isRecord(value.args)) event.args = value.args;
  return event;
}

/**
 * Returns the index of the bracket that closes the one at `start`, or -1 when the text ends first.
 * Brackets inside JSON strings do not count.
 */
function findClosingBracket(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (let index = start; index < text.length; index += 1) {
    const char = text[index];
    if (inString) {
      if (escaped) escaped = false;
      else if (char === '\\') escaped = true;
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') inString = true;
    else if (char === '[' || char === '{') depth += 1;
    else if (char === ']' || char === '}') {
      depth -= 1;
      if (depth === 0) return index;
    }
  }
  return -1;
}

function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Not JSON: the caller treats undefined as "no events here".
    return undefined;
  }
}

/**
 * Extracts the Chrome-trace events from captured console output.
 *
 * 1. Join the lines and parse every JSON array in the text that contains trace events. A prefix before
 *    the "[" and other log lines around the array are skipped.
 * 2. Parse the lines outside those arrays one by one, as single events (`{...}` with an optional
 *    trailing comma). This recovers the events of an array that one malformed or interleaved line
 *    keeps from parsing whole.
 *
 * Lines that are not trace events are ignored. Returns the events in the order they appear.
 */
export function extractTraceEvents(consoleLines: string[]): TraceEvent[] {
  const text = consoleLines.join('\n');
  const found: Array<{ position: number; event: TraceEvent }> = [];
  const parsedRanges: Array<[number, number]> = [];

  // 1. Whole arrays. Only a "[" followed by "{" can open an array of events, which skips brackets in
  // text such as "inputs[0]" and keeps a malformed trace from being rescanned at every such bracket.
  const arrayStart = /\[\s*\{/g;
  let match: RegExpExecArray | null;
  while ((match = arrayStart.exec(text)) !== null) {
    const start = match.index;
    const end = findClosingBracket(text, start);
    const parsed = end === -1 ? undefined : tryParseJson(text.slice(start, end + 1));
    const events = Array.isArray(parsed) ? parsed.map(toTraceEvent).filter((event) => event !== null) : [];
    if (events.length === 0) continue;
    events.forEach((event, index) => found.push({ position: start + index / events.length, event }));
    parsedRanges.push([start, end]);
    arrayStart.lastIndex = end + 1;
  }

  // 2. Single-event lines that do not overlap the parsed arrays.
  let lineStart = 0;
  for (const line of text.split('\n')) {
    const position = lineStart;
    const lineEnd = position + line.length;
    lineStart = lineEnd + 1;
    if (parsedRanges.some(([start, end]) => position <= end && lineEnd >= start)) continue;
    const open = line.indexOf('{');
    const close = line.lastIndexOf('}');
    if (open === -1 || close < open) continue;
    const event = toTraceEvent(tryParseJson(line.slice(open, close + 1)));
    if (event) found.push({ position: position + open, event });
  }

  return found.sort((a, b) => a.position - b.position).map(({ event }) => event);
}

/**
 * Splits a kernel event name, `node&OpType&Program`, into its parts. The node name is everything before
 * the last two `&`, since ONNX node names may contain `&` but operator types and program names do not.
 * A name with fewer parts keeps what it has: `node&OpType` has no program, and a name without `&` is
 * taken as the operator type.
 */
export function parseKernelName(name: string): KernelName {
  const parts = name.split('&');
  if (parts.length >= 3) {
    return { nodeName: parts.slice(0, -2).join('&'), opType: parts[parts.length - 2], programName: parts[parts.length - 1] };
  }
  if (parts.length === 2) return { nodeName: parts[0], opType: parts[1], programName: '' };
  return { nodeName: '', opType: name, programName: '' };
}

/**
 * Counts the runs recorded in a trace: onnxruntime writes one "Session" event named "model_run" per
 * `session.run`. The profiler records from session creation, so warm-up runs count too.
 */
export function countModelRuns(events: readonly TraceEvent[]): number {
  return events.filter((event) => event.cat === 'Session' && event.name === 'model_run').length;
}

/**
 * Sums the GPU kernel time of a trace per operator type, per run.
 *
 * `runs` is the number of `session.run` calls that the trace covers, warm-up runs included, because the
 * profiler records from session creation (`countModelRuns` reads it from the trace). Per-run figures are
 * totals divided by `runs`.
 *
 * Throws RangeError when `runs` is not a positive integer, and NoKernelEventsError when the trace has no
 * GPU kernel events.
 */
export function summarizeKernelTimes(events: readonly TraceEvent[], runs: number): KernelTimeSummary {
  if (!Number.isInteger(runs) || runs < 1) {
    throw new RangeError(`Invalid runs ${String(runs)}: expected the number of profiled session runs, an integer ≥ 1.`);
  }
  const kernelEvents = events.filter((event) => event.cat === KERNEL_EVENT_CATEGORY);
  if (kernelEvents.length === 0) {
    throw new NoKernelEventsError(
      `The profiling trace has no GPU kernel events (cat "${KERNEL_EVENT_CATEGORY}") among its ${events.length} events. ` +
        'The device may lack the timestamp-query feature, or the session was not created with enableProfiling: true. ' +
        'Request timestamp-query on the device, create the session with enableProfiling: true, and run it before endProfiling().',
    );
  }

  const byOpType = new Map<string, { durationUs: number; count: number }>();
  let totalUs = 0;
  for (const event of kernelEvents) {
    const { opType } = parseKernelName(event.name);
    const entry = byOpType.get(opType) ?? { durationUs: 0, count: 0 };
    entry.durationUs += event.dur;
    entry.count += 1;
    byOpType.set(opType, entry);
    totalUs += event.dur;
  }

  const microsecondsPerMs = 1000;
  const opTypeTimes = [...byOpType.entries()].map(([opType, { durationUs, count }]) => ({
    opType,
    totalMs: durationUs / microsecondsPerMs / runs,
    kernelCount: count / runs,
    // NOTE: onnxruntime rounds each duration to whole µs, so on a fast GPU every kernel can read 0 µs.
    // The shares are then 0, not an even split.
    share: totalUs > 0 ? durationUs / totalUs : 0,
  }));
  opTypeTimes.sort((a, b) => b.totalMs - a.totalMs || a.opType.localeCompare(b.opType));

  return {
    runs,
    totalGpuMs: totalUs / microsecondsPerMs / runs,
    kernelEventCount: kernelEvents.length,
    byOpType: opTypeTimes,
  };
}

// Console capture.
//
// Emscripten binds `console.log` once, when onnxruntime-web instantiates its wasm module (on the first
// session creation), and prints through that bound copy afterwards. Replacing `console.log` later does
// not reach it. `dispatchConsoleLog` is therefore the one function ever installed: while a capture is
// active it collects the line, otherwise it forwards to the console.log it replaced. A copy that
// Emscripten bound during an earlier capture keeps working this way.

const activeCaptures = new Set<string[]>();
let forwardLog: (...args: unknown[]) => void = console.log.bind(console);
let tapInstalled = false;

function formatConsoleArgs(args: unknown[]): string {
  return args
    .map((arg) => {
      if (typeof arg === 'string') return arg;
      try {
        return JSON.stringify(arg) ?? String(arg);
      } catch {
        // Circular or otherwise unserializable: fall back to its string form.
        return String(arg);
      }
    })
    .join(' ');
}

function dispatchConsoleLog(...args: unknown[]): void {
  if (activeCaptures.size === 0) {
    forwardLog(...args);
    return;
  }
  const line = formatConsoleArgs(args);
  for (const lines of activeCaptures) lines.push(line);
}

/**
 * Replaces `console.log` for good with a function that `captureConsoleDuring` can collect from.
 * Call it once in the worker, before the first onnxruntime-web session is created, because the wasm
 * module keeps the `console.log` it finds then. Calling it again does nothing.
 */
export function installConsoleLogTap(): void {
  if (tapInstalled) return;
  tapInstalled = true;
  if (console.log !== dispatchConsoleLog) {
    forwardLog = console.log.bind(console);
    console.log = dispatchConsoleLog;
  }
}

/**
 * Runs `action` and returns its value with every line it wrote through `console.log`, which is where
 * onnxruntime-web writes its profiling trace. The lines are not passed on to the console.
 *
 * Without `installConsoleLogTap`, `console.log` is replaced only for the duration of the action and
 * restored afterwards, also when the action throws. That reaches the profiling output of
 * onnxruntime-web only if its wasm module was instantiated during an earlier capture, so install the
 * tap at worker start.
 */
export async function captureConsoleDuring<T>(action: () => Promise<T> | T): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = [];
  const previousLog = console.log;
  const replaceHere = previousLog !== dispatchConsoleLog;
  if (replaceHere) {
    forwardLog = previousLog.bind(console);
    console.log = dispatchConsoleLog;
  }
  activeCaptures.add(lines);
  try {
    const value = await action();
    return { value, lines };
  } finally {
    activeCaptures.delete(lines);
    if (replaceHere && !tapInstalled) console.log = previousLog;
  }
}
