/**
 * Worker entry. All onnxruntime-web work happens here, off the page's main thread, so the page stays
 * responsive during a sweep.
 */
import * as Comlink from 'comlink';
import * as ort from 'onnxruntime-web/webgpu';
import './errorTransport';
import { ProfilerEngine } from './engine';

// The app serves ORT's wasm runtime itself from /ort/ (copied there by the Vite config); no CDN.
ort.env.wasm.wasmPaths = new URL(`${import.meta.env.BASE_URL}ort/`, self.location.origin).href;
ort.env.logLevel = 'warning';

const engine = new ProfilerEngine(ort);
Comlink.expose(engine);
