import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium: `npx playwright install` cannot download a browser here. */
const CHROMIUM_PATH = '/usr/bin/chromium';

/** Where screenshots go, at the repo root (git-ignored), so a person can look at what a test saw. */
const ARTIFACTS_DIR = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

// Headless, and nothing that reaches past loopback (updates, sync, component downloads).
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export const DESKTOP = { width: 1280, height: 800 } as const;
export const PHONE = { width: 390, height: 844 } as const;

export interface ChromiumSession {
  context: BrowserContext;
  /** The context's first tab. */
  page: Page;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

async function assertChromium(): Promise<void> {
  try {
    await access(CHROMIUM_PATH, constants.X_OK);
  } catch {
    throw new Error(
      `The browser test drives Chromium at ${CHROMIUM_PATH}, which is missing: install it with \`apt-get install -y chromium\` (as root), then run the tests again.`,
    );
  }
}

/**
 * Chromium with a fresh profile of its own (removed by `close`), 1280 px wide; `baseURL` lets a
 * test `goto('/system/...')`. Each call is a separate browser, so one session (JavaScript off,
 * another user) shares no cookies or cache with another.
 */
export async function launchChromium({
  javaScriptEnabled = true,
  baseURL,
}: { javaScriptEnabled?: boolean; baseURL?: string } = {}): Promise<ChromiumSession> {
  await assertChromium();
  const userDataDir = await mkdtemp(join(tmpdir(), 'platform-ops-chromium-'));
  let context: BrowserContext;
  try {
    // Playwright passes the profile as --user-data-dir itself (it refuses the flag in `args`).
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      chromiumSandbox: false,
      args: FLAGS,
      javaScriptEnabled,
      baseURL,
      viewport: DESKTOP,
    });
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true });
    throw error;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Where the README's screenshots live: taken by the browser test when DOCS_SCREENSHOTS=1. */
const DOCS_DIR = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));

/**
 * With DOCS_SCREENSHOTS=1, saves what the window shows as `docs/screenshots/<name>.jpg` for the
 * README, small (the viewport only, JPEG); otherwise nothing, so that a test run leaves the
 * tracked pictures alone.
 */
export async function docsScreenshot(page: Page, name: string): Promise<void> {
  if (process.env.DOCS_SCREENSHOTS !== '1') return;
  await mkdir(DOCS_DIR, { recursive: true });
  await page.screenshot({ path: join(DOCS_DIR, `${name}.jpg`), type: 'jpeg', quality: 70 });
}

/** Saves a full-page PNG as `test-artifacts/<name>.png` and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  if (!/^[a-z0-9][a-z0-9.-]*$/.test(name))
    throw new Error(`screenshot name ${JSON.stringify(name)}: use lower-case letters, digits, dots and dashes`);
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
