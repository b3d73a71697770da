import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_CAPABILITIES } from '../src/runbooks/capabilities.js';
import { findActiveRuns } from '../src/runbooks/runs.js';
import { buildApp } from '../src/web/app.js';
import { launchChromium, PHONE, screenshot, type ChromiumSession } from './support/browser.js';
import { createCustomer, createOperator } from './support/console.js';
import { LIFECYCLE, useRunbookHarness } from './support/harness.js';
import { waitForRun } from './support/runs.js';
import { slowBatches, undoRebuilds } from './support/slowBatches.js';
import { until } from './support/until.js';

const REASON = 'Rebuild lifecycle fields after the rules change (browser test)';
const RUN_URL = /\/system\/ops\/runs\/([0-9a-f-]{36})\?started=1$/;

// Scripts run in the page (the project's TypeScript has no DOM types).
const MARKER = 'window.__marker';
const setMarker = (value: string) => `window.__marker = ${JSON.stringify(value)}`;

/** The header's unread count, from its attribute or else its text. */
async function unreadCount(page: Page): Promise<number> {
  const badge = page.locator('[data-unread-count]').first();
  const attribute = await badge.getAttribute('data-unread-count', { timeout: 5_000 });
  return Number(attribute || (await badge.textContent())?.trim());
}

async function signIn(page: Page, operator: { email: string; password: string }, shot: string) {
  await page.goto('/system/login');
  await page.getByLabel('Email').fill(operator.email);
  await page.getByLabel('Password').fill(operator.password);
  await screenshot(page, shot);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname !== '/system/login');
}

/** On the runbooks page, Rebuild Findings Lifecycle's form: all tenants, then Preflight; returns the report once it is shown. */
async function preflightAllTenants(page: Page, prefix: string) {
  const runbook = page.locator('article.runbook', {
    has: page.getByText('findings.lifecycle.rebuild', { exact: true }),
  });
  await runbook.getByLabel('All tenants').check();
  await screenshot(page, `${prefix}-runbooks`);
  await runbook.getByRole('button', { name: /Run preflight/ }).click();
  const report = page.locator('section.preflight');
  await report.waitFor();
  await screenshot(page, `${prefix}-preflight-report`);
  return report;
}

/** The confirmation step: reason, phrase, Start; returns the run's id once its page shows the toast. */
async function confirmAndStart(page: Page, prefix: string): Promise<string> {
  const confirm = page.locator('form.confirm');
  await confirm.getByLabel(/Reason/).fill(REASON);
  await confirm.getByLabel(/to confirm a run on every tenant/).fill('ALL TENANTS');
  await screenshot(page, `${prefix}-confirmation`);
  await confirm.getByRole('button', { name: 'Start' }).click();
  await page.waitForURL(RUN_URL);
  const toast = page.locator('.toast');
  await toast.waitFor();
  const text = (await toast.textContent()) ?? '';
  expect(text).toContain('Rebuild Findings Lifecycle queued');
  expect(text, 'the toast states intent only, never progress').not.toMatch(/%/);
  return RUN_URL.exec(page.url())![1]!;
}

// A real console on 127.0.0.1 with a real worker: the run the browser starts really runs.
describe('the /system console in Chromium', { timeout: 120_000 }, () => {
  // One tenant at a time, two slow batches each: a run takes several seconds, so the page
  // polls it through 25, 50 and 75 % on its way to 100 %.
  const h = useRunbookHarness({
    seed: { tenants: 4, findingsPerTenant: 40, seed: 5 },
    settings: { childParallelism: 1, batchSize: 20 },
  });
  let app: FastifyInstance;
  let baseURL: string;
  let operator: { email: string; password: string };
  let browser: ChromiumSession;
  let restoreSpeed: (() => Promise<void>) | undefined;
  let finished: Promise<string> | undefined;

  beforeAll(async () => {
    app = await buildApp({ config: h.config, database: h.database, temporal: h.client });
    baseURL = await app.listen({ host: '127.0.0.1', port: 0 });
    operator = await createOperator(h.database, ALL_CAPABILITIES);
    browser = await launchChromium({ javaScriptEnabled: true, baseURL });
  });

  afterAll(async () => {
    await browser?.close();
    await restoreSpeed?.();
    await app?.close();
  });

  /** Batches at full speed and no run active (whatever an earlier test left), so a start is not refused. */
  async function settle() {
    await restoreSpeed?.();
    restoreSpeed = undefined;
    await until(
      () => findActiveRuns(h.database.pool, [LIFECYCLE]),
      (active) => active.length === 0,
      'no active run',
    );
  }

  /**
   * A succeeded all-tenants run for the tests that only look at one: started through the
   * starter the first time a test asks, so no test depends on another having started a run.
   */
  const finishedRun = () =>
    (finished ??= settle()
      .then(() => h.start({ kind: 'all_tenants' }, { runbook: LIFECYCLE }))
      .then(({ run }) => waitForRun(h.database.pool, run.id))
      .then((run) => {
        expect(run.outcome).toBe('succeeded');
        return run.id;
      }));

  it('signs in, preflights all tenants, starts, and follows the run live to succeeded and its notification', async () => {
    const { page } = browser;
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      // The console serves no favicon yet; Chromium asks for one on every page.
      if (message.type() === 'error' && !message.location().url.endsWith('/favicon.ico'))
        errors.push(`${message.text()} (${message.location().url})`);
    });
    let progressPolls = 0;
    page.on('request', (request) => {
      if (/\/system\/ops\/runs\/[0-9a-f-]{36}\/progress$/.test(new URL(request.url()).pathname)) progressPolls++;
    });

    // Work to do and an operator of its own (no notifications yet), whatever ran before.
    await settle();
    await undoRebuilds(h.database.pool);
    await signIn(page, await createOperator(h.database, ALL_CAPABILITIES), 'console-login');
    await page.goto('/system/ops/runbooks');
    expect(await unreadCount(page)).toBe(0);

    restoreSpeed = await slowBatches(h.database.pool, 700);
    // htmx swaps the report in place: the document stays the same.
    await page.evaluate(setMarker('runbooks'));
    const report = await preflightAllTenants(page, 'console');
    expect(await page.evaluate<string>(MARKER)).toBe('runbooks');
    expect(await report.locator('.preflight-totals').textContent()).toMatch(/Tenants in scope\s*4\b/);
    const sample = report.locator('table.preflight-sample');
    expect(await sample.locator('thead th').allTextContents()).toEqual(['Finding', 'Field', 'Before', 'After']);
    expect(await sample.locator('tbody tr').count()).toBeGreaterThan(0);

    const runId = await confirmAndStart(page, 'console');
    // From here on the page must not navigate: the marker survives only in the same document.
    await page.evaluate(setMarker('run page'));
    const status = page.locator('#run-live .status');
    const bar = page.locator('#run-live #run-progress');
    await status.filter({ hasText: /running/i }).waitFor({ timeout: 20_000 });
    await screenshot(page, 'console-run-running');
    // An action opens its confirmation in place (nothing is sent until it is confirmed).
    // The live part is swapped every 2 s, so a click can land on the copy just replaced: try again then.
    const actionForm = page.locator('#run-action form');
    for (let attempt = 1; ; attempt++) {
      await page.locator('#run-live').getByRole('button', { name: 'Pause…' }).click();
      const shown = await actionForm
        .getByLabel(/Reason/)
        .waitFor({ timeout: 2_500 })
        .then(
          () => true,
          () => false,
        );
      if (shown) break;
      if (attempt === 5) throw new Error('the pause confirmation never opened in #run-action');
    }
    expect(await actionForm.textContent()).toContain('Pausing lets running tenants finish their current batch');
    await screenshot(page, 'console-run-pause-confirmation');
    const seen: number[] = [];
    await expect
      .poll(
        async () => {
          // Both read in one go in the page: htmx swaps them together, between two separate reads.
          const live = await page.evaluate<{ value: number; status: string }>(
            `({ value: Number(document.querySelector('#run-live #run-progress')?.getAttribute('value')),
                status: document.querySelector('#run-live .status')?.textContent ?? '' })`,
          );
          if (seen.at(-1) !== live.value) seen.push(live.value);
          return live.status;
        },
        { timeout: 40_000, interval: 100 },
      )
      .toMatch(/succeeded/);
    expect(await bar.getAttribute('value')).toBe('100');
    // The header hears of the completion too, on the same page.
    await expect.poll(() => unreadCount(page), { timeout: 15_000 }).toBe(1);
    expect(await page.evaluate<string>(MARKER), 'the run page was reloaded or left').toBe('run page');
    expect(seen, `progress values seen: ${seen.join(', ')}`).toEqual([...seen].sort((a, b) => a - b));
    expect(
      seen.some((value) => value > 0 && value < 100),
      `progress values seen: ${seen.join(', ')}`,
    ).toBe(true);
    expect(seen.at(-1)).toBe(100);
    expect(progressPolls).toBeGreaterThanOrEqual(2);
    await screenshot(page, 'console-run-succeeded');

    await page.goto('/system/ops/runs');
    await page.locator(`main a[href="/system/ops/runs/${runId}"]`).first().waitFor();
    await screenshot(page, 'console-runs-list');

    await page.getByRole('link', { name: /^Notifications/ }).click();
    await page.waitForURL((url) => url.pathname === '/system/notifications');
    const notice = page.locator(`#notifications li.unread a[href="/system/ops/runs/${runId}"]`);
    expect(await notice.textContent()).toMatch(/Rebuild Findings Lifecycle on all tenants succeeded/);
    await screenshot(page, 'console-notifications');

    expect(errors, 'errors in the browser console').toEqual([]);
    await restoreSpeed();
    restoreSpeed = undefined;
  });

  it('is one narrow column at 390 px: the runbooks page and the run page do not scroll sideways', async () => {
    const runId = await finishedRun();
    const phone = await launchChromium({ javaScriptEnabled: true, baseURL });
    try {
      const { page } = phone;
      await page.setViewportSize(PHONE);
      await signIn(page, operator, 'console-390-login');
      for (const [path, name] of [
        ['/system/ops/runbooks', 'console-390-runbooks'],
        [`/system/ops/runs/${runId}`, 'console-390-run'],
      ] as const) {
        await page.goto(path);
        await screenshot(page, name);
        expect(
          await page.evaluate<number>('document.documentElement.scrollWidth'),
          `${path} at 390 px`,
        ).toBeLessThanOrEqual(PHONE.width);
      }
    } finally {
      await phone.close();
    }
  });

  it('gives a customer signed in at /admin the unknown-URL 404 on /system/ops/runs', async () => {
    // A run exists, and nothing of it may show on the customer's 404.
    const runId = await finishedRun();
    // A customer of a seeded tenant, so their findings page has rows to show.
    const account = await createCustomer(h.database, 'tenant-00002');
    const customer = await launchChromium({ javaScriptEnabled: true, baseURL });
    try {
      const { page, context } = customer;
      await page.goto('/admin/login');
      await page.getByLabel('Email').fill(account.email);
      await page.getByLabel('Password').fill(account.password);
      await screenshot(page, 'admin-login');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL((url) => url.pathname === '/admin/findings');
      // The customer's own header: their email and sign-out, nothing of the operators' console.
      expect(await page.locator('header').textContent()).toContain(account.email);
      expect(await page.locator('header').textContent()).not.toContain('Platform Ops');
      expect(await page.locator('main table tbody tr').count()).toBeGreaterThan(0);
      await screenshot(page, 'admin-findings');
      const session = (await context.cookies()).find((cookie) => cookie.name === 'admin_session');
      expect(session?.path).toBe('/admin');

      // The browser keeps the /admin cookie to /admin: on /system the customer is just signed out.
      await page.goto('/system/ops/runs');
      expect(new URL(page.url()).pathname).toBe('/system/login');
      // A hostile client sends the same session to /system too: the console does not admit the page exists.
      await context.addCookies([{ ...session!, path: '/system' }]);
      const response = await page.goto('/system/ops/runs');
      expect(response?.status()).toBe(404);
      expect(new URL(page.url()).pathname).toBe('/system/ops/runs');
      expect(await page.locator('main').textContent()).toContain('There is no page at this address.');
      expect(await page.content()).not.toContain(runId);
      await screenshot(page, 'console-customer-404');
    } finally {
      await customer.close();
    }
  });

  it('works as plain forms with JavaScript off: sign in, preflight, confirm and start reach the run page', async () => {
    await settle();
    const { rows: earlier } = await h.database.pool.query<{ id: string }>('SELECT id FROM operation_runs');
    const plain = await launchChromium({ javaScriptEnabled: false, baseURL });
    try {
      const { page } = plain;
      await signIn(page, operator, 'console-nojs-login');
      await page.goto('/system/ops/runbooks');
      const report = await preflightAllTenants(page, 'console-nojs');
      expect(await report.locator('.preflight-totals').textContent()).toContain('Tenants in scope');
      const id = await confirmAndStart(page, 'console-nojs');
      expect(earlier.map((run) => run.id)).not.toContain(id);
      await page.locator('#run-live #run-progress').waitFor();
      await screenshot(page, 'console-nojs-run');
    } finally {
      await plain.close();
    }
  });
});
