/**
 * Starts Chromium for the headless command, the end-to-end tests and the screenshot script, with the
 * flags that give it a WebGPU adapter on a machine without a display.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Chromium flags. WebGPU on Linux is behind --enable-unsafe-webgpu; the rest keep a closed network quiet. */
export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Finds Chromium: $CHROMIUM_PATH, then Debian's /usr/bin/chromium, then Playwright's own download if any. */
export function findChromium(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  for (const candidate of candidates) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  try {
    const bundled = chromium.executablePath();
    if (bundled && existsSync(bundled)) return bundled;
  } catch {
    // Playwright has no browser of its own installed; fall through to the error below.
  }
  return undefined;
}

export async function launchChromium(options: { headless?: boolean } = {}): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) {
    throw new Error('Chromium was not found. Install it (Debian: apt-get install chromium) or set CHROMIUM_PATH to its executable.');
  }
  const args = [...CHROMIUM_ARGS];
  // Chromium refuses to start its sandbox as root, which is how containers and CI usually run.
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  return chromium.launch({ executablePath, headless: options.headless ?? true, args });
}
