/// <reference types="vitest/config" />
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';

const rootDir = dirname(fileURLToPath(import.meta.url));
const ortDistDir = resolve(rootDir, 'node_modules/onnxruntime-web/dist');

/**
 * onnxruntime-web/webgpu (1.30) loads the asyncify build of the wasm runtime at run time.
 * The app serves those two files from `public/ort/` itself, so nothing comes from a CDN.
 */
const ORT_RUNTIME_FILES = ['ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm'];

function serveOrtRuntime(): Plugin {
  return {
    name: 'serve-ort-runtime',
    configResolved() {
      const targetDir = resolve(rootDir, 'public/ort');
      mkdirSync(targetDir, { recursive: true });
      for (const file of ORT_RUNTIME_FILES) copyFileSync(resolve(ortDistDir, file), resolve(targetDir, file));
    },
  };
}

/** Cross-origin isolation gives the page SharedArrayBuffer, which the threaded WASM backend needs. */
const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

const packageJson = JSON.parse(readFileSync(resolve(rootDir, 'package.json'), 'utf8'));
const ortPackageJson = JSON.parse(readFileSync(resolve(rootDir, 'node_modules/onnxruntime-web/package.json'), 'utf8'));

export default defineConfig({
  plugins: [svelte(), serveOrtRuntime()],
  define: {
    __APP_VERSION__: JSON.stringify(packageJson.version),
    __ORT_VERSION__: JSON.stringify(ortPackageJson.version),
  },
  // Resolves onnxruntime-web to its build that loads the wasm runtime from `wasmPaths` instead of
  // bundling a second 27 MB copy of it.
  resolve: { conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions] },
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  // BUILD_DIR lets two builds (for example two end-to-end runs on different ports) live side by side.
  build: { target: 'es2022', chunkSizeWarningLimit: 2048, outDir: process.env.BUILD_DIR ?? 'dist' },
  test: {
    include: ['tests/unit/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
  },
});
