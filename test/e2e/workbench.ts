/**
 * Driving the real workbench in Chromium: opening it on a folder with this extension in
 * development mode, running palette commands, reaching into webviews (two iframes deep), and
 * saving screenshots. Selectors are VS Code's own DOM classes, the stable ones its smoke tests use.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { BrowserContext, FrameLocator, Page } from 'playwright-core';
import { launchBrowser } from '../../scripts/code-server/browser';
import { REPO_ROOT, TEST_TMP } from '../../scripts/code-server/paths';
import { startCodeServer, type CodeServer } from '../../scripts/code-server/server';
import { workbenchUrl } from '../../scripts/code-server/workbench';

export const SCREENSHOTS = path.join(TEST_TMP, 'screenshots');

export interface Workbench {
  readonly page: Page;
  readonly server: CodeServer;
  readonly context: BrowserContext;
  readonly settingsFile: string;
  close(): Promise<void>;
}

/**
 * code-server on `folder` with this checkout loaded in development mode, or, with
 * `installed: true`, with only what its extensions folder holds (a .vsix installed there first).
 */
export async function openWorkbench(
  runDir: string, folder: string, settings: Record<string, unknown>, env: Record<string, string> = {},
  opts: { installed?: boolean } = {},
): Promise<Workbench> {
  const server = await startCodeServer({ runDir, settings, env });
  const context = await launchBrowser(runDir);
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(workbenchUrl(server, { folder, ...(opts.installed ? {} : { extensionDevelopmentPath: REPO_ROOT }) }));
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  // The explorer lists the folder once the remote connection and file service are up.
  await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
  return {
    page, server, context,
    settingsFile: path.join(runDir, 'user-data', 'User', 'settings.json'),
    async close() {
      await context.close();
      await server.stop();
    },
  };
}

/**
 * Runs a command by its palette title ("DLA: Open Report"). A development extension's commands
 * join the palette only once the remote extension host has scanned it, a few seconds after the
 * workbench shows, so the palette is reopened until the entry appears.
 */
export async function runCommand(page: Page, title: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill(`>${title}`);
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
    try {
      await row.waitFor({ timeout: 3000 });
      await row.click();
      return;
    } catch (err) {
      await page.keyboard.press('Escape');
      if (Date.now() > end) throw new Error(`The palette has no '${title}' after ${timeoutMs / 1000} s.`, { cause: err });
    }
  }
}

/** Picks the quick-pick item whose label contains `text`. */
export async function pickItem(page: Page, text: string): Promise<void> {
  const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: text }).first();
  await row.waitFor({ timeout: 20_000 });
  await row.click();
}

/** Whether the palette offers `title` (waiting, as runCommand does, for the extension's scan). */
export async function paletteHas(page: Page, title: string, timeoutMs = 60_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    await page.keyboard.press('F1');
    await page.locator('.quick-input-widget input').fill(`>${title}`);
    const found = await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first()
      .waitFor({ timeout: 3000 }).then(() => true, () => false);
    await page.keyboard.press('Escape');
    if (found || Date.now() > end) return found;
  }
}

/** The content frame of the active webview. */
export function webview(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready').last().frameLocator('#active-frame');
}

export async function closeEditors(page: Page): Promise<void> {
  await runCommand(page, 'View: Close All Editors');
  await page.waitForTimeout(300);
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** Changes a user setting while the workbench runs (VS Code watches its settings file). */
export function setUserSetting(file: string, key: string, value: unknown): void {
  const s = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  s[key] = value;
  fs.writeFileSync(file, JSON.stringify(s, null, 2));
}
