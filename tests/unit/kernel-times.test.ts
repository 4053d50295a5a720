import { afterEach, describe, expect, it } from 'vitest';
import {
  NoKernelEventsError,
  captureConsoleDuring,
  countModelRuns,
  extractTraceEvents,
  installConsoleLogTap,
  parseKernelName,
  summarizeKernelTimes,
  type TraceEvent,
} from '../../src/profiling/kernelTimes';

/**
 * A trace of two runs in the exact layout that onnxruntime's profiler writes ("[", one event per line
 * with its odd spacing, "]"). Emscripten prints it with one console.log call per line. GPU kernel
 * events ("Api") have pid and tid -1 and carry shapes and the program cache key in args.
 */
const TWO_RUN_TRACE_LINES = [
  '[',
  '{"cat" : "Session","pid" :412,"tid" :412,"dur" :2104,"ts" :5,"ph" : "X","name" :"model_loading_array","args" : {}},',
  '{"cat" : "Session","pid" :412,"tid" :412,"dur" :35120,"ts" :2140,"ph" : "X","name" :"session_initialization","args" : {}},',
  '{"cat" : "Node","pid" :412,"tid" :412,"dur" :310,"ts" :40100,"ph" : "X","name" :"/layers.0/attn/MatMul_kernel_time","args" : {"op_name" : "MatMul","provider" : "WebGpuExecutionProvider"}},',
  '{"cat" : "Node","pid" :412,"tid" :412,"dur" :95,"ts" :40420,"ph" : "X","name" :"/layers.0/attn/Softmax_kernel_time","args" : {"op_name" : "Softmax","provider" : "WebGpuExecutionProvider"}},',
  '{"cat" : "Session","pid" :412,"tid" :412,"dur" :8800,"ts" :40000,"ph" : "X","name" :"SequentialExecutor::Execute","args" : {}},',
  '{"cat" : "Session","pid" :412,"tid" :412,"dur" :9050,"ts" :39990,"ph" : "X","name" :"model_run","args" : {}},',
  '{"cat" : "Session","pid" :412,"tid" :412,"dur" :8700,"ts" :52000,"ph" : "X","name" :"SequentialExecutor::Execute","args" : {}},',
  '{"cat" : "Session","pid" :412,"tid" :412,"dur" :8900,"ts" :51990,"ph" : "X","name" :"model_run","args" : {}},',
  '{"cat" : "Api","pid" :-1,"tid" :-1,"dur" :120,"ts" :0,"ph" : "X","name" :"/layers.0/attn/MatMul&MatMul&MatMulNaive","args" : {"shapes" : "inputs[0] = {1,4,64} inputs[1] = {64,64} outputs[0] = {1,4,64} ","cache_key" : "MatMulNaive[3;64]:1;0"}},',
  '{"cat" : "Api","pid" :-1,"tid" :-1,"dur" :80,"ts" :130,"ph" : "X","name" :"/layers.0/attn/MatMul_1&MatMul&MatMulNaive","args" : {"shapes" : "inputs[0] = {1,4,64} inputs[1] = {64,64} outputs[0] = {1,4,64} ","cache_key" : "MatMulNaive[3;64]:1;0"}},',
  '{"cat" : "Api","pid" :-1,"tid" :-1,"dur" :10,"ts" :220,"ph" : "X","name" :"/layers.0/attn/Add&Add&Add","args" : {"shapes" : "inputs[0] = {1,4,64} inputs[1] = {64} outputs[0] = {1,4,64} ","cache_key" : "Add:1"}},',
  '{"cat" : "Api","pid" :-1,"tid" :-1,"dur" :40,"ts" :240,"ph" : "X","name" :"/layers.0/attn/Softmax&Softmax&Softmax","args" : {"shapes" : "inputs[0] = {1,4,4} outputs[0] = {1,4,4} ","cache_key" : "Softmax:2"}},',
  '{"cat" : "Api","pid" :-1,"tid" :-1,"dur" :130,"ts" :12000,"ph" : "X","name" :"/layers.0/attn/MatMul&MatMul&MatMulNaive","args" : {"shapes" : "inputs[0] = {1,4,64} inputs[1] = {64,64} outputs[0] = {1,4,64} ","cache_key" : "MatMulNaive[3;64]:1;0"}},',
  '{"cat" : "Api","pid" :-1,"tid" :-1,"dur" :70,"ts" :12140,"ph" : "X","name" :"/layers.0/attn/MatMul_1&MatMul&MatMulNaive","args" : {"shapes" : "inputs[0] = {1,4,64} inputs[1] = {64,64} outputs[0] = {1,4,64} ","cache_key" : "MatMulNaive[3;64]:1;0"}},',
  '{"cat" : "Api","pid" :-1,"tid" :-1,"dur" :12,"ts" :12220,"ph" : "X","name" :"/layers.0/attn/Add&Add&Add","args" : {"shapes" : "inputs[0] = {1,4,64} inputs[1] = {64} outputs[0] = {1,4,64} ","cache_key" : "Add:1"}},',
  '{"cat" : "Api","pid" :-1,"tid" :-1,"dur" :38,"ts" :12240,"ph" : "X","name" :"/layers.0/attn/Softmax&Softmax&Softmax","args" : {"shapes" : "inputs[0] = {1,4,4} outputs[0] = {1,4,4} ","cache_key" : "Softmax:2"}}',
  ']',
];
const TRACE_EVENT_COUNT = TWO_RUN_TRACE_LINES.length - 2;
const KERNEL_EVENT_COUNT = 8;

function kernelEvent(name: string, dur: number): TraceEvent {
  return { cat: 'Api', name, ts: 0, dur };
}

describe('extractTraceEvents', () => {
  it('extractTraceEvents reads a trace printed line by line', () => {
    const events = extractTraceEvents(TWO_RUN_TRACE_LINES);

    expect(events).toHaveLength(TRACE_EVENT_COUNT);
    expect(events.filter((event) => event.cat === 'Api')).toHaveLength(KERNEL_EVENT_COUNT);
  });

  it('extractTraceEvents keeps fields and event order', () => {
    const events = extractTraceEvents(TWO_RUN_TRACE_LINES);

    expect(events[0]).toEqual({ cat: 'Session', name: 'model_loading_array', ts: 5, dur: 2104, ph: 'X', pid: 412, tid: 412, args: {} });
    expect(events[8].name).toBe('/layers.0/attn/MatMul&MatMul&MatMulNaive');
    expect(events[8].pid).toBe(-1);
    expect(events[8].args?.shapes).toBe('inputs[0] = {1,4,64} inputs[1] = {64,64} outputs[0] = {1,4,64} ');
    expect(events.at(-1)?.name).toBe('/layers.0/attn/Softmax&Softmax&Softmax');
  });

  it('extractTraceEvents reads one call with a prefix', () => {
    const events = extractTraceEvents([`profile: ${TWO_RUN_TRACE_LINES.join('')} (end)`]);

    expect(events).toHaveLength(TRACE_EVENT_COUNT);
  });

  it('extractTraceEvents skips unrelated log lines around the trace', () => {
    const lines = ['[WebGPU] adapter: swiftshader', 'batch 4 done in [12, 13] ms', ...TWO_RUN_TRACE_LINES, 'released session {id: 3}'];

    const events = extractTraceEvents(lines);

    expect(events).toHaveLength(TRACE_EVENT_COUNT);
  });

  it('extractTraceEvents does not duplicate an event on the opening line', () => {
    const [, first, ...rest] = TWO_RUN_TRACE_LINES;

    const events = extractTraceEvents([`trace: [${first}`, ...rest]);

    expect(events).toHaveLength(TRACE_EVENT_COUNT);
  });

  it('extractTraceEvents recovers events around a malformed line', () => {
    const lines = [...TWO_RUN_TRACE_LINES];
    // Cut the first Add kernel event in half, which makes the array invalid JSON.
    const addIndex = lines.findIndex((line) => line.includes('Add&Add&Add'));
    lines[addIndex] = lines[addIndex].slice(0, 60);

    const events = extractTraceEvents(lines);

    expect(events).toHaveLength(TRACE_EVENT_COUNT - 1);
    expect(events.filter((event) => event.name.includes('Add&Add&Add'))).toHaveLength(1);
  });

  it('extractTraceEvents recovers events around an interleaved log line', () => {
    const lines = [...TWO_RUN_TRACE_LINES];
    lines.splice(5, 0, 'worker: heartbeat');

    const events = extractTraceEvents(lines);

    expect(events).toHaveLength(TRACE_EVENT_COUNT);
  });

  it('extractTraceEvents reads traces of two sessions', () => {
    const events = extractTraceEvents([...TWO_RUN_TRACE_LINES, 'second session:', ...TWO_RUN_TRACE_LINES]);

    expect(events).toHaveLength(2 * TRACE_EVENT_COUNT);
  });

  it.each([
    ['no output', []],
    ['plain log lines', ['session created', 'run 1 took 12 ms']],
    ['a JSON array of numbers', ['[1, 2, 3]']],
    ['an empty array', ['[', ']']],
    ['objects without trace fields', ['[{"name": "x"}, {"cat": "Api", "name": "y", "ts": 0}]']],
    ['an event with a negative duration', ['[{"cat": "Api", "name": "a&B&C", "ts": 0, "dur": -5}]']],
  ])('extractTraceEvents returns nothing for %s', (_label, lines) => {
    expect(extractTraceEvents(lines)).toEqual([]);
  });
});

describe('parseKernelName', () => {
  it.each([
    ['/layers.0/attn/MatMul&MatMul&MatMulNaive', { nodeName: '/layers.0/attn/MatMul', opType: 'MatMul', programName: 'MatMulNaive' }],
    ['/ffn/Gelu&Gelu&Gelu', { nodeName: '/ffn/Gelu', opType: 'Gelu', programName: 'Gelu' }],
    ['node&with&amp&LayerNormalization&LayerNorm', { nodeName: 'node&with&amp', opType: 'LayerNormalization', programName: 'LayerNorm' }],
    ['/Cast&Cast', { nodeName: '/Cast', opType: 'Cast', programName: '' }],
    ['Transpose', { nodeName: '', opType: 'Transpose', programName: '' }],
  ])('parseKernelName splits %s', (name, expected) => {
    expect(parseKernelName(name)).toEqual(expected);
  });
});

describe('countModelRuns', () => {
  it('countModelRuns counts model_run session events', () => {
    expect(countModelRuns(extractTraceEvents(TWO_RUN_TRACE_LINES))).toBe(2);
  });
});

describe('summarizeKernelTimes', () => {
  it('summarizeKernelTimes averages per run', () => {
    const summary = summarizeKernelTimes(extractTraceEvents(TWO_RUN_TRACE_LINES), 2);

    // (120 + 80 + 10 + 40 + 130 + 70 + 12 + 38) µs over 2 runs.
    expect(summary.totalGpuMs).toBeCloseTo(0.25, 12);
    expect(summary.runs).toBe(2);
    expect(summary.kernelEventCount).toBe(KERNEL_EVENT_COUNT);
  });

  it('summarizeKernelTimes groups by operator type', () => {
    const summary = summarizeKernelTimes(extractTraceEvents(TWO_RUN_TRACE_LINES), 2);
    const byOpType = Object.fromEntries(summary.byOpType.map((entry) => [entry.opType, entry]));

    expect(Object.keys(byOpType).sort()).toEqual(['Add', 'MatMul', 'Softmax']);
    expect(byOpType.MatMul.totalMs).toBeCloseTo(0.2, 12);
    expect(byOpType.MatMul.kernelCount).toBe(2);
    expect(byOpType.MatMul.share).toBeCloseTo(0.8, 12);
    expect(byOpType.Softmax.totalMs).toBeCloseTo(0.039, 12);
    expect(byOpType.Softmax.kernelCount).toBe(1);
    expect(byOpType.Softmax.share).toBeCloseTo(0.156, 12);
    expect(byOpType.Add.totalMs).toBeCloseTo(0.011, 12);
    expect(byOpType.Add.share).toBeCloseTo(0.044, 12);
  });

  it('summarizeKernelTimes sorts by time, largest first', () => {
    const summary = summarizeKernelTimes(extractTraceEvents(TWO_RUN_TRACE_LINES), 2);

    expect(summary.byOpType.map((entry) => entry.opType)).toEqual(['MatMul', 'Softmax', 'Add']);
  });

  it('summarizeKernelTimes shares add up to 1', () => {
    const events = [kernelEvent('a&Gelu&Gelu', 7), kernelEvent('b&MatMul&MatMulNaive', 13), kernelEvent('c&Add&Add', 3)];

    const summary = summarizeKernelTimes(events, 1);

    expect(summary.byOpType.reduce((sum, entry) => sum + entry.share, 0)).toBeCloseTo(1, 12);
  });

  it('summarizeKernelTimes breaks time ties by name', () => {
    const events = [kernelEvent('x&Sub&Sub', 5), kernelEvent('y&Add&Add', 5)];

    const summary = summarizeKernelTimes(events, 1);

    expect(summary.byOpType.map((entry) => entry.opType)).toEqual(['Add', 'Sub']);
  });

  it('summarizeKernelTimes ignores CPU-side events', () => {
    const events: TraceEvent[] = [
      kernelEvent('a&MatMul&MatMulNaive', 100),
      { cat: 'Node', name: 'a_kernel_time', ts: 0, dur: 5000 },
      { cat: 'Session', name: 'model_run', ts: 0, dur: 9000 },
    ];

    const summary = summarizeKernelTimes(events, 1);

    expect(summary.totalGpuMs).toBeCloseTo(0.1, 12);
    expect(summary.byOpType).toHaveLength(1);
  });

  it('summarizeKernelTimes gives zero shares for zero durations', () => {
    const summary = summarizeKernelTimes([kernelEvent('a&Add&Add', 0), kernelEvent('b&Mul&Mul', 0)], 1);

    expect(summary.totalGpuMs).toBe(0);
    expect(summary.byOpType.map((entry) => entry.share)).toEqual([0, 0]);
  });

  it('summarizeKernelTimes rejects a trace without kernel events', () => {
    const cpuOnly = extractTraceEvents(TWO_RUN_TRACE_LINES).filter((event) => event.cat !== 'Api');

    expect(() => summarizeKernelTimes(cpuOnly, 2)).toThrow(NoKernelEventsError);
    expect(() => summarizeKernelTimes(cpuOnly, 2)).toThrow(/timestamp-query/);
    expect(() => summarizeKernelTimes(cpuOnly, 2)).toThrow(/enableProfiling: true/);
    expect(() => summarizeKernelTimes([], 1)).toThrow(/among its 0 events/);
  });

  it.each([0, -1, 1.5, Number.NaN])('summarizeKernelTimes rejects runs %s', (runs) => {
    expect(() => summarizeKernelTimes([kernelEvent('a&Add&Add', 1)], runs)).toThrow(RangeError);
    expect(() => summarizeKernelTimes([kernelEvent('a&Add&Add', 1)], runs)).toThrow(`Invalid runs ${runs}`);
  });
});

describe('captureConsoleDuring', () => {
  const originalLog = console.log;
  afterEach(() => {
    // A failing test must not leave the wrapper behind for the tests after it.
    console.log = originalLog;
  });

  it('captureConsoleDuring collects lines and returns the value', async () => {
    const { value, lines } = await captureConsoleDuring(() => {
      console.log('[');
      console.log('{"cat" : "Api"}');
      return 42;
    });

    expect(value).toBe(42);
    expect(lines).toEqual(['[', '{"cat" : "Api"}']);
  });

  it('captureConsoleDuring awaits an async action', async () => {
    const { value, lines } = await captureConsoleDuring(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      console.log('after the wait');
      return 'done';
    });

    expect(value).toBe('done');
    expect(lines).toEqual(['after the wait']);
  });

  it('captureConsoleDuring joins arguments like the console', async () => {
    const { lines } = await captureConsoleDuring(() => console.log('run', 3, { ms: 12.5 }, null));

    expect(lines).toEqual(['run 3 {"ms":12.5} null']);
  });

  it('captureConsoleDuring restores console.log', async () => {
    await captureConsoleDuring(() => console.log('x'));

    expect(console.log).toBe(originalLog);
  });

  it('captureConsoleDuring restores console.log after a throw', async () => {
    const capture = captureConsoleDuring(() => {
      console.log('before the failure');
      throw new Error('endProfiling failed');
    });

    await expect(capture).rejects.toThrow('endProfiling failed');
    expect(console.log).toBe(originalLog);
  });

  it('captureConsoleDuring restores console.log after a rejection', async () => {
    const capture = captureConsoleDuring(async () => {
      await Promise.resolve();
      throw new Error('session released');
    });

    await expect(capture).rejects.toThrow('session released');
    expect(console.log).toBe(originalLog);
  });

  it('captureConsoleDuring gives nested captures every line', async () => {
    const outer = await captureConsoleDuring(async () => {
      console.log('outer');
      const inner = await captureConsoleDuring(() => console.log('both'));
      return inner.lines;
    });

    expect(outer.value).toEqual(['both']);
    expect(outer.lines).toEqual(['outer', 'both']);
    expect(console.log).toBe(originalLog);
  });

  it('captureConsoleDuring reaches a copy bound in an earlier capture', async () => {
    // Emscripten keeps the console.log it finds when the wasm module starts, as a bound copy.
    let boundCopy: (...args: unknown[]) => void = () => {};
    await captureConsoleDuring(() => {
      boundCopy = console.log.bind(console);
    });

    const { lines } = await captureConsoleDuring(() => boundCopy('from the wasm module'));

    expect(lines).toEqual(['from the wasm module']);
  });

  it('captureConsoleDuring misses a copy bound before any capture', async () => {
    const forwarded: string[] = [];
    console.log = (...args: unknown[]) => forwarded.push(args.join(' '));
    const boundToStub = console.log.bind(console);

    const { lines } = await captureConsoleDuring(() => boundToStub('bypasses the capture'));

    expect(lines).toEqual([]);
    expect(forwarded).toEqual(['bypasses the capture']);
  });
});

// Runs last: the tap replaces console.log for the rest of this file's process.
describe('installConsoleLogTap', () => {
  it('installConsoleLogTap lets a later bound copy be captured', async () => {
    const forwarded: string[] = [];
    console.log = (...args: unknown[]) => forwarded.push(args.join(' '));
    installConsoleLogTap();
    const boundAfterTap = console.log.bind(console);

    boundAfterTap('outside a capture');
    const { lines } = await captureConsoleDuring(() => boundAfterTap('inside a capture'));

    expect(forwarded).toEqual(['outside a capture']);
    expect(lines).toEqual(['inside a capture']);
  });

  it('installConsoleLogTap keeps the tap after a capture', async () => {
    installConsoleLogTap();
    const tap = console.log;

    await captureConsoleDuring(() => console.log('x'));

    expect(console.log).toBe(tap);
  });
});
