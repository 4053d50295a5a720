/**
 * Builds the app when needed and serves it on 127.0.0.1 with Vite's preview server, which sends the
 * cross-origin isolation headers from vite.config.ts. The build folder is `dist/`, or `$BUILD_DIR` when
 * set, which vite.config.ts also reads, so two builds can live side by side.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, preview, type PreviewServer } from 'vite';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Build folder, relative to the project root: `$BUILD_DIR`, else `dist`. */
export const BUILD_DIR = process.env.BUILD_DIR ?? 'dist';
const BUILD_INDEX = join(PROJECT_ROOT, BUILD_DIR, 'index.html');

function newestMtimeMs(path: string): number {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  let newest = stats.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtimeMs(join(path, entry)));
  return newest;
}

/** True when the build folder is missing or older than any source file, index.html or the Vite config. */
export function buildIsStale(): boolean {
  if (!existsSync(BUILD_INDEX)) return true;
  const builtMs = statSync(BUILD_INDEX).mtimeMs;
  const sources = ['src', 'index.html', 'vite.config.ts', 'public/models'].map((path) => join(PROJECT_ROOT, path));
  return sources.some((path) => existsSync(path) && newestMtimeMs(path) > builtMs);
}

/** Builds the app into the build folder. */
export async function buildApp(): Promise<void> {
  await build({ root: PROJECT_ROOT, logLevel: 'warn', build: { outDir: BUILD_DIR } });
}

/** Serves the build folder on an ephemeral port of 127.0.0.1 and returns the server and its URL. */
export async function serveApp(port = 0): Promise<{ server: PreviewServer; url: string }> {
  const server = await preview({
    root: PROJECT_ROOT,
    logLevel: 'warn',
    build: { outDir: BUILD_DIR },
    preview: { host: '127.0.0.1', port, strictPort: port !== 0, open: false },
  });
  const address = server.httpServer.address();
  if (!address || typeof address === 'string') throw new Error('The preview server did not report a TCP address.');
  return { server, url: `http://127.0.0.1:${address.port}/` };
}
