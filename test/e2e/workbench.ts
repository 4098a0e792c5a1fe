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
  const context = await launchBrowser(runDir).catch(async (err) => {
    await server.stop();
    throw err;
  });
  const close = async () => {
    await context.close();
    await server.stop();
  };
  // A half-opened workbench is closed here: the caller gets no handle to close it, and a browser
  // or code-server left running keeps the test process alive long after its failure.
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(workbenchUrl(server, { folder, ...(opts.installed ? {} : { extensionDevelopmentPath: REPO_ROOT }) }));
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    // The explorer lists the folder once the remote connection and file service are up.
    await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
    const theme = settings['workbench.colorTheme'];
    if (typeof theme === 'string' && theme in THEMES) await setColorTheme(page, theme as ThemeId);
    return { page, server, context, settingsFile: path.join(runDir, 'user-data', 'User', 'settings.json'), close };
  } catch (err) {
    await screenshotFirstPage(context, path.join(runDir, 'open-failed.png'));
    await close();
    throw err;
  }
}

async function screenshotFirstPage(context: BrowserContext, file: string): Promise<void> {
  await context.pages()[0]?.screenshot({ path: file }).catch(() => undefined);
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

/**
 * The content frame of this extension's visible webview (the last one when several are shown).
 * Other extensions' webviews (the image preview beside a classification) are left out by the
 * extensionId VS Code puts in each webview iframe's URL.
 */
export function webview(page: Page, extensionId = 'dla-lens.dla-lens'): FrameLocator {
  return page.frameLocator(`iframe.webview.ready[src*="extensionId=${extensionId}"]`).last().frameLocator('#active-frame');
}

/**
 * Right-click `fileName` in the explorer, choose "Classify Image", and wait for the rendered result
 * page; returns its frame. Context menu items act on mouseup after a hover, as in the workbench's
 * own smoke tests.
 */
export async function classifyFromExplorer(page: Page, fileName: string): Promise<FrameLocator> {
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: fileName }).click({ button: 'right' });
  await page.locator('.context-view .action-menu-item', { hasText: 'Classify Image' }).hover();
  await page.keyboard.press('Enter');
  await page.locator('.tab', { hasText: `${fileName} — top-5` }).waitFor({ timeout: 60_000 });
  const view = webview(page);
  await view.locator('body[data-ready="true"]').waitFor({ timeout: 30_000 });
  return view;
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

/** The built-in themes the tests use: their settings id, palette label and workbench CSS class. */
const THEMES = {
  'Default Dark Modern': { label: 'Dark Modern', file: 'dark_modern' },
  'Default Light Modern': { label: 'Light Modern', file: 'light_modern' },
  'Default High Contrast': { label: 'Dark High Contrast', file: 'hc_black' },
  'Default High Contrast Light': { label: 'Light High Contrast', file: 'hc_light' },
} as const;
export type ThemeId = keyof typeof THEMES;

/**
 * Switches the colour theme as a user does, through Preferences: Color Theme
 * (workbench.action.selectTheme), and waits until the workbench wears it. Editing settings.json
 * does not do here: the web workbench on code-server neither applies a `workbench.colorTheme`
 * written before start (it comes up in Light+; after Reload Window, in Abyss, whatever the
 * setting says) nor notices later edits of the file.
 */
export async function setColorTheme(page: Page, id: ThemeId): Promise<void> {
  const { label, file } = THEMES[id];
  const worn = page.locator(`.monaco-workbench.vscode-theme-defaults-themes-${file}-json`);
  for (let attempt = 1; await worn.count() === 0; attempt++) {
    await runCommand(page, 'Preferences: Color Theme');
    // The theme picker replaces the command list in the same widget: type only once it is there.
    const input = page.locator('.quick-input-widget input[placeholder*="Color Theme"]');
    const row = page.locator('.quick-input-list .monaco-list-row', { has: page.locator('.label-name', { hasText: new RegExp(`^${label}$`) }) }).first();
    try {
      await input.waitFor({ timeout: 10_000 });
      await input.fill(label);
      await row.waitFor({ timeout: 10_000 });
      await row.click();
      await worn.waitFor({ state: 'attached', timeout: 10_000 });
    } catch (err) {
      await page.keyboard.press('Escape');
      if (attempt >= 3) throw new Error(`Could not switch to the colour theme '${label}' through Preferences: Color Theme.`, { cause: err });
    }
  }
}
