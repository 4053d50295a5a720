/**
 * Worker entry. All onnxruntime-web work happens here, off the page's main thread, so the page stays
 * responsive during a sweep.
 */
import * as Comlink from 'comlink';
import * as ort from 'onnxruntime-web/webgpu';
import './errorTransport';
import { ProfilerEngine } from './engine';
import { installConsoleLogTap } from '../profiling/kernelTimes';

// The app serves ORT's wasm runtime itself from /ort/ (copied there by the Vite config); no CDN.
ort.env.wasm.wasmPaths = new URL(`${import.meta.env.BASE_URL}ort/`, self.location.origin).href;
// 'error' keeps ORT's routine node-placement warnings out of the console, where they read like failures.
ort.env.logLevel = 'error';
// Set here rather than left to ORT, so that the environment report states the real count from the start.
// Threads need SharedArrayBuffer, which only cross-origin-isolated pages have.
ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, Math.ceil((navigator.hardwareConcurrency || 1) / 2)) : 1;

// ORT's wasm module keeps the console.log it finds when it starts, so the tap that collects its
// profiling trace goes in before any session exists.
installConsoleLogTap();
const engine = new ProfilerEngine(ort);
Comlink.expose(engine);
