import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, findChromium } from './src/cli/browser';

const PORT = Number(process.env.E2E_PORT ?? 4319);

/**
 * End-to-end tests run the built app (`npm run build` first) in Chromium with WebGPU. On machines without
 * a GPU, Chromium's WebGPU runs on SwiftShader, on the CPU, so the tests use tiny model configurations.
 */
export default defineConfig({
  testDir: 'tests/e2e',
  // One worker: two sweeps at once on a 2-core machine would only slow each other down.
  workers: 1,
  timeout: 300_000,
  expect: { timeout: 60_000 },
  reporter: process.env.CI ? 'list' : [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}/`,
    acceptDownloads: true,
    launchOptions: {
      executablePath: findChromium(),
      args: [...CHROMIUM_ARGS, ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])],
    },
  },
  webServer: {
    command: `npx vite preview --host 127.0.0.1 --port ${PORT} --strictPort --bypass-lock`,
    url: `http://127.0.0.1:${PORT}/`,
    reuseExistingServer: false,
    timeout: 60_000,
  },
});
