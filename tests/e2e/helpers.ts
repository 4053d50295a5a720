import { expect, type Page } from '@playwright/test';
import type { AutomationSettings } from '../../src/app/automation';

/** Short synthetic proteins keep WebGPU runs on SwiftShader (a CPU rasterizer) to well under a second. */
export const SHORT_SYNTHETIC = { seed: 7, count: 24, minLength: 12, maxLength: 40 };

export async function openProfiler(page: Page): Promise<void> {
  await page.goto('/');
  await page.waitForFunction(() => window.batchProfiler !== undefined);
  await expect(page.getByTestId('input-count')).toBeVisible();
}

export async function configure(page: Page, settings: AutomationSettings): Promise<void> {
  await page.evaluate((value) => window.batchProfiler!.configure(value), settings);
}

/** Fills a number input the way a person does, so that Svelte's bindings see the change. */
export async function fillNumber(page: Page, testId: string, value: number): Promise<void> {
  const field = page.getByTestId(testId);
  await field.fill(String(value));
  await field.blur();
}
