import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import axe, { type AxeResults, type Result } from 'axe-core';
import type { FastifyInstance } from 'fastify';
import type { Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_CAPABILITIES, CAPABILITIES } from '../src/runbooks/capabilities.js';
import { findActiveRuns } from '../src/runbooks/runs.js';
import { buildApp } from '../src/web/app.js';
import { launchChromium, screenshot, type ChromiumSession } from './support/browser.js';
import { createCustomer, createOperator } from './support/console.js';
import { LIFECYCLE, useRunbookHarness } from './support/harness.js';
import { waitForRun } from './support/runs.js';
import { slowBatches, undoRebuilds } from './support/slowBatches.js';
import { until } from './support/until.js';

/** Beside the screenshots (git-ignored): every page's violations of any impact, for the people who fix them. */
const REPORT = fileURLToPath(new URL('../test-artifacts/accessibility.md', import.meta.url));
const REASON = 'Rebuild lifecycle fields after the rules change (accessibility test)';
const RUN_PATH = /^\/system\/ops\/runs\/([0-9a-f-]{36})$/;
/** What fails the test; minor and moderate findings are reported beside it, not asserted. */
const BLOCKING = new Set(['serious', 'critical']);

interface Checked {
  page: string;
  path: string;
  scheme: Scheme;
  violations: Result[];
  /** What axe could not decide (a colour over an image, say): for a person to look at, not asserted. */
  incomplete: Result[];
}
const checked: Checked[] = [];

/** A node's selector as one string (axe nests them for frames and shadow roots, which the console has none of). */
const selectorOf = (target: Result['nodes'][number]['target']) => target.map(String).join(' ');

function describeViolation(violation: Result): string {
  const targets = violation.nodes.slice(0, 5).map((node) => selectorOf(node.target));
  const more = violation.nodes.length > targets.length ? ` and ${violation.nodes.length - targets.length} more` : '';
  // axe's own words for the first node: for colour contrast, both colours and the ratio wanted.
  const why = violation.nodes[0]?.any[0]?.message;
  return `${violation.id} (${violation.impact}): ${violation.help} at ${targets.join(', ')}${more}${why ? ` (${why})` : ''}`;
}

/**
 * Holds the page's htmx requests (its polls) while `work` reads it: a swap in the middle of a
 * scan would hand axe nodes that are no longer in the document.
 */
async function withPollsHeld<T>(page: Page, work: () => Promise<T>): Promise<T> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const hold = async (route: Route) => {
    if (route.request().headers()['hx-request']) await released;
    await route.fallback();
  };
  await page.route('**/*', hold);
  try {
    // A request already on its way when the hold began still swaps: wait for it to land. Polled
    // from here: waitForFunction would evaluate its text in the page, which the CSP forbids.
    await until(
      () => page.evaluate<boolean>("!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"),
      (idle) => idle,
      'the htmx requests in flight to land',
      10_000,
    );
    return await work();
  } finally {
    release();
    await page.unroute('**/*', hold);
  }
}

/** Settles once every CSS transition running in the document has finished (getAnimations flushes style first). */
const TRANSITIONS_DONE =
  'Promise.all(document.getAnimations().filter((a) => a instanceof CSSTransition).map((a) => a.finished.catch(() => null)))';

/**
 * Pico follows the visitor's light or dark preference (`prefers-color-scheme`) and the
 * console's own colours sit on either background, so every page is checked in both.
 */
const SCHEMES = ['light', 'dark'] as const;
type Scheme = (typeof SCHEMES)[number];

/**
 * Runs axe-core (every rule it runs by default: WCAG 2.x A and AA, and best practices) on the
 * page as it is now, in both colour schemes, saves a screenshot of each, and fails the test
 * softly, naming the page, for every serious or critical violation, so that one journey
 * reports all of its pages.
 */
async function check(page: Page, name: string, shot: string): Promise<void> {
  const path = new URL(page.url()).pathname;
  await withPollsHeld(page, async () => {
    // Through the DevTools protocol rather than a <script>: the console's CSP allows no inline script.
    await page.evaluate(axe.source);
    for (const scheme of SCHEMES) {
      await page.emulateMedia({ colorScheme: scheme });
      // Pico eases colours in over 0.2 s: axe would read a colour half-way between the schemes.
      await page.evaluate(TRANSITIONS_DONE);
      const results = await page.evaluate<AxeResults>(
        "axe.run(document, { resultTypes: ['violations', 'incomplete'] })",
      );
      await screenshot(page, scheme === 'light' ? shot : `${shot}-dark`);
      checked.push({ page: name, path, scheme, violations: results.violations, incomplete: results.incomplete });
      const blocking = results.violations.filter((violation) => BLOCKING.has(violation.impact ?? ''));
      expect
        .soft(blocking.map(describeViolation), `${name} (${path}, ${scheme}): serious or critical axe violations`)
        .toEqual([]);
    }
    await page.emulateMedia({ colorScheme: 'light' });
  });
}

function reportOf(pages: Checked[]): string {
  const lines = [
    '# axe-core on the console',
    '',
    `axe-core ${axe.version}; Chromium at 1280 × 800, JavaScript on.`,
    '',
  ];
  // Every node, with axe's reason (for colour contrast: both colours and the ratio it expected).
  const list = (results: Result[]) =>
    results.flatMap((result) => [
      `- **${result.id}** (${result.impact}), ${result.nodes.length} node(s): ${result.help}`,
      ...result.nodes.map((node) => {
        const detail = (node.any[0]?.message ?? node.failureSummary ?? '').replace(/\s+/g, ' ');
        return `  - \`${selectorOf(node.target)}\`: ${detail}`;
      }),
    ]);
  for (const { page, path, scheme, violations, incomplete } of pages) {
    lines.push(`## ${page}, ${scheme} (\`${path}\`)`, '');
    lines.push(...(violations.length ? list(violations) : ['No violations.']));
    if (incomplete.length) lines.push('', 'Needs review (axe could not decide):', ...list(incomplete));
    lines.push('');
  }
  return lines.join('\n');
}

async function signIn(page: Page, account: { email: string; password: string }, loginPath: string) {
  await page.goto(loginPath);
  await page.getByLabel('Email').fill(account.email);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname !== loginPath);
}

/**
 * Opens an action's confirmation inside the run page (htmx), as a click on its button does. The
 * live part is swapped every second, so a click can land on the copy just replaced: try again then.
 */
async function openActionInPlace(page: Page, name: RegExp): Promise<void> {
  const form = page.locator('#run-action form');
  for (let attempt = 1; attempt <= 5; attempt++) {
    await page.locator('#run-live').getByRole('button', { name }).click();
    const opened = await form.waitFor({ timeout: 2_500 }).then(
      () => true,
      () => false,
    );
    if (opened) return;
  }
  throw new Error(`the confirmation of ${String(name)} never opened in #run-action`);
}

// A real console on 127.0.0.1 with a real worker, so that every page is seen in the state an
// operator sees it: a preflight really computed, a run really running, paused and completed.
describe('the console under axe-core', { timeout: 180_000 }, () => {
  // Two batches per tenant, one tenant at a time: with slow batches a run stays active while
  // its pages are checked.
  const h = useRunbookHarness({
    seed: { tenants: 5, findingsPerTenant: 40, seed: 11 },
    settings: { childParallelism: 1, batchSize: 20 },
  });
  let app: FastifyInstance;
  let baseURL: string;
  let finished: Promise<string> | undefined;

  beforeAll(async () => {
    app = await buildApp({ config: h.config, database: h.database, temporal: h.client });
    baseURL = await app.listen({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await app?.close();
    await mkdir(dirname(REPORT), { recursive: true });
    await writeFile(REPORT, reportOf(checked));
  });

  /** Any browser of a test is closed whatever the test's outcome; where a journey stopped is saved as `shot`. */
  async function inChromium(shot: string, test: (session: ChromiumSession) => Promise<void>): Promise<void> {
    const session = await launchChromium({ javaScriptEnabled: true, baseURL });
    try {
      await test(session);
    } catch (error) {
      await screenshot(session.page, shot);
      throw error;
    } finally {
      await session.close();
    }
  }

  /**
   * A succeeded run for the tests that only look at one, started through the starter the first
   * time a test asks (once no other run holds the scope), so no test depends on another's run.
   */
  const finishedRun = () =>
    (finished ??= until(
      () => findActiveRuns(h.database.pool, [LIFECYCLE]),
      (active) => active.length === 0,
      'no active run',
    )
      .then(() => h.start({ kind: 'all_tenants' }, { runbook: LIFECYCLE }))
      .then(({ run }) => waitForRun(h.database.pool, run.id))
      .then((run) => run.id));

  it('an operator with every capability: sign-in, runbooks, preflight, a refused and a real start, the run active, paused and completed, its actions, lists, search and 404', async () => {
    const operator = await createOperator(h.database, ALL_CAPABILITIES);
    let restoreSpeed: (() => Promise<void>) | undefined;
    try {
      await inChromium('a11y-operator-stopped', async ({ page }) => {
        await page.goto('/system/login');
        await check(page, 'Sign-in page', 'a11y-system-login');
        await page.getByLabel('Email').fill(operator.email);
        await page.getByLabel('Password').fill('not the password');
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.locator('.notice.error').waitFor();
        await check(page, 'Sign-in page, refused', 'a11y-system-login-refused');

        await signIn(page, operator, '/system/login');
        await page.goto('/system/ops/runbooks');
        await check(page, 'Runbooks page', 'a11y-runbooks');

        const runbook = page.locator('article.runbook', { has: page.getByText(LIFECYCLE, { exact: true }) });
        await runbook.getByLabel('All tenants').check();
        await runbook.getByRole('button', { name: /Run preflight/ }).click();
        const confirm = runbook.locator('form.confirm');
        await confirm.waitFor();
        await check(page, 'Preflight report with its confirmation (all tenants)', 'a11y-preflight-confirmation');

        // Work for the run to do, slowly enough that it is still active while its pages are checked.
        await undoRebuilds(h.database.pool);
        restoreSpeed = await slowBatches(h.database.pool, 2_000);
        // Padded so that the browser's own minlength check lets it through and the server's,
        // which trims, refuses it as too short.
        await confirm.getByLabel(/Reason/).fill(`Too short${' '.repeat(20)}`);
        await confirm.getByLabel(/to confirm a run on every tenant/).fill('ALL TENANTS');
        await confirm.getByRole('button', { name: 'Start' }).click();
        await runbook.locator('#reason-problem').waitFor();
        await check(page, 'Refused start (reason too short)', 'a11y-start-refused');

        await runbook
          .locator('form.confirm')
          .getByLabel(/Reason/)
          .fill(REASON);
        await runbook.locator('form.confirm').getByRole('button', { name: 'Start' }).click();
        await page.waitForURL((url) => RUN_PATH.test(url.pathname));
        const runId = RUN_PATH.exec(new URL(page.url()).pathname)![1]!;
        const runPath = `/system/ops/runs/${runId}`;
        await page
          .locator('#run-live .status')
          .filter({ hasText: /running/i })
          .waitFor({ timeout: 20_000 });
        await check(page, 'Run page, active', 'a11y-run-active');
        await openActionInPlace(page, /^Cancel/);
        await check(page, 'Run page with the cancel confirmation open in place', 'a11y-run-cancel-in-place');

        await page.goto(`${runPath}/actions/cancel`);
        await check(page, 'Cancel confirmation of an active run', 'a11y-run-cancel-confirmation');
        await page.goto(`${runPath}/actions/tune`);
        await check(page, 'Tune confirmation of an active run', 'a11y-run-tune-confirmation');

        await page.goto(`${runPath}/actions/pause`);
        await check(page, 'Pause confirmation of an active run', 'a11y-run-pause-confirmation');
        await page.getByLabel(/Reason/).fill('Pausing to check the pages while paused (accessibility test)');
        await page.getByRole('button', { name: 'Pause the run' }).click();
        await page.waitForURL((url) => url.pathname === runPath);
        // The live part shows the pause once the run row has it; it is polled every second.
        await page.locator('#run-live .notice.paused').waitFor({ timeout: 20_000 });
        await check(page, 'Run page, paused', 'a11y-run-paused');

        await page.goto(`${runPath}/actions/resume`);
        await check(page, 'Resume confirmation of a paused run', 'a11y-run-resume-confirmation');
        await page.getByLabel(/Reason/).fill('Resuming after the check (accessibility test)');
        await page.getByRole('button', { name: 'Resume the run' }).click();
        await page.waitForURL((url) => url.pathname === runPath);
        await restoreSpeed();
        restoreSpeed = undefined;
        const run = await waitForRun(h.database.pool, runId);
        expect(run.outcome).toBe('succeeded');
        await page.goto(runPath);
        await page
          .locator('#run-live .status')
          .filter({ hasText: /succeeded/i })
          .waitFor();
        await check(page, 'Run page, completed', 'a11y-run-completed');

        await page.goto('/system/ops/runs');
        await page.locator(`main a[href="${runPath}"]`).first().waitFor();
        await check(page, 'Runs list', 'a11y-runs');

        await page.goto('/system/notifications');
        // The run's completion, unread (its link's address is the notifications' own business).
        await page.locator('#notifications li.unread', { hasText: /succeeded/ }).waitFor();
        await check(page, 'Notifications (one unread)', 'a11y-notifications');

        await page.goto('/system/ops/tenants?q=tenant');
        await page.locator('main table tbody tr').first().waitFor();
        await check(page, 'Tenants search with matches', 'a11y-tenants');

        // The change windows: a definition refused, then one made (a nightly deny window of a
        // runbook no run here is of, so that it holds none of them), its confirmation to delete.
        await page.goto('/system/ops/windows');
        await check(page, 'Change windows (none)', 'a11y-windows-empty');
        await page.getByRole('radio', { name: /^Deny/ }).check();
        await page.getByLabel('Schedule').fill('61 * * * *');
        await page.getByLabel('Duration').fill('90m');
        await page.getByLabel('Close stale findings').check();
        await page.getByLabel('Description').fill('Backups run at midnight (accessibility test)');
        await page.getByRole('button', { name: 'Define the window' }).click();
        await page.locator('#window-problem').waitFor();
        await check(page, 'Change windows, a refused definition', 'a11y-windows-refused');
        await page.getByLabel('Schedule').fill('0 0 * * *');
        await page.getByRole('button', { name: 'Define the window' }).click();
        await page.locator('.toast').waitFor();
        await check(page, 'Change windows (one)', 'a11y-windows');
        await page.getByRole('button', { name: 'Delete…' }).click();
        await page.getByRole('button', { name: 'Delete the window' }).waitFor();
        await check(page, 'Change window, delete confirmation', 'a11y-window-delete');
        await page.getByRole('button', { name: 'Delete the window' }).click();
        await page.locator('.toast').waitFor();

        const missing = await page.goto('/system/no-such-page');
        expect(missing?.status()).toBe(404);
        await check(page, '404 page (signed in)', 'a11y-404');
      });
    } finally {
      await restoreSpeed?.();
    }
  });

  it('a read-only operator (platform.ops.runs.view only): the page refused to them, runs list, a completed run, notifications', async () => {
    const runId = await finishedRun();
    const reader = await createOperator(h.database, [CAPABILITIES.runsView]);
    await inChromium('a11y-readonly-stopped', async ({ page }) => {
      await signIn(page, reader, '/system/login');
      const refused = await page.goto('/system/ops/runbooks');
      expect(refused?.status()).toBe(403);
      await check(page, '403 page (runbooks without platform.ops.runbooks.view)', 'a11y-readonly-403');

      await page.goto('/system/ops/runs');
      await page.locator(`main a[href="/system/ops/runs/${runId}"]`).first().waitFor();
      await check(page, 'Runs list (read-only)', 'a11y-readonly-runs');

      await page.goto(`/system/ops/runs/${runId}`);
      await page
        .locator('#run-live .status')
        .filter({ hasText: /succeeded/i })
        .waitFor();
      expect(await page.locator('#run-live .run-actions').count(), 'no actions without runs.manage').toBe(0);
      await check(page, 'Run page, completed (read-only)', 'a11y-readonly-run');

      await page.goto('/system/notifications');
      await check(page, 'Notifications, none (read-only)', 'a11y-readonly-notifications');
    });
  });

  it("a customer at /admin: the sign-in page and their tenant's findings", async () => {
    // A seeded tenant, so that the findings page has rows to show.
    const customer = await createCustomer(h.database, 'tenant-00002');
    await inChromium('a11y-admin-stopped', async ({ page }) => {
      await page.goto('/admin/login');
      await check(page, 'Admin sign-in page', 'a11y-admin-login');
      await signIn(page, customer, '/admin/login');
      expect(new URL(page.url()).pathname).toBe('/admin/findings');
      await page.locator('main table tbody tr').first().waitFor();
      await check(page, 'Admin findings page', 'a11y-admin-findings');
    });
  });
});
