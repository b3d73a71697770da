import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { ALL_CAPABILITIES, CAPABILITIES } from '../src/runbooks/capabilities.js';
import { controlRun } from '../src/runbooks/control.js';
import { liveRunCounts } from '../src/runbooks/runItems.js';
import { findActiveRuns, getRun } from '../src/runbooks/runs.js';
import { buildApp } from '../src/web/app.js';
import { docsScreenshot, launchChromium, PHONE, screenshot, type ChromiumSession } from './support/browser.js';
import { createCustomer, createOperator } from './support/console.js';
import { LIFECYCLE, useRunbookHarness } from './support/harness.js';
import { tenantIds, waitForRun } from './support/runs.js';
import { failTenants, slowBatches, undoRebuilds } from './support/slowBatches.js';
import { until } from './support/until.js';

const REASON = 'Rebuild lifecycle fields after the rules change (browser test)';
const RUN_URL = /\/system\/ops\/runs\/([0-9a-f-]{36})$/;

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
    await report.scrollIntoViewIfNeeded();
    await docsScreenshot(page, 'preflight');
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
    // The live part is swapped every second, so a click can land on the copy just replaced: try again then.
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
    const notice = page.locator('#notifications li.unread a', {
      hasText: 'Rebuild Findings Lifecycle on all tenants succeeded',
    });
    await screenshot(page, 'console-notifications');
    // Opening it leads to the run, and it is read from then on.
    await notice.click();
    await page.waitForURL((url) => url.pathname === `/system/ops/runs/${runId}`);
    expect(await unreadCount(page)).toBe(0);

    expect(errors, 'errors in the browser console').toEqual([]);
    await restoreSpeed();
    restoreSpeed = undefined;
  });

  /** Each page at 390 px, as `who` sees it: one column, nothing to scroll sideways. */
  async function expectOneColumnAtPhoneWidth(
    who: { email: string; password: string },
    prefix: string,
    pages: ReadonlyArray<readonly [string, string]>,
  ) {
    const phone = await launchChromium({ javaScriptEnabled: true, baseURL });
    try {
      const { page } = phone;
      await page.setViewportSize(PHONE);
      await signIn(page, who, `${prefix}-login`);
      for (const [path, name] of pages) {
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
  }

  /** A refusal's message as the operator sees it: shown, an alert, red, and inside its field's label. */
  async function refusalBeside(page: Page, problem: string, field: string) {
    const seen = await page.evaluate<{ visible: boolean; role: string | null; color: string; besideField: boolean }>(
      `(() => {
        const problem = document.querySelector(${JSON.stringify(problem)});
        if (!problem) return { visible: false, role: null, color: '', besideField: false };
        return {
          visible: problem.offsetParent !== null && problem.textContent.trim() !== '',
          role: problem.getAttribute('role') ?? problem.closest('[role="alert"]')?.getAttribute('role') ?? null,
          color: getComputedStyle(problem).color,
          besideField: Boolean(problem.closest('label')?.querySelector(${JSON.stringify(`[name="${field}"]`)})),
        };
      })()`,
    );
    expect(seen, `${problem} beside ${field}`).toEqual({
      visible: true,
      role: 'alert',
      color: 'rgb(183, 28, 28)',
      besideField: true,
    });
  }

  /** The run page's figures and its tenants table as of one moment (read in one go in the page). */
  const figuresAndTable = (page: Page) =>
    page.evaluate<{ tallies: Record<string, number>; rows: Record<string, number>; tenants: number }>(
      `(() => {
        const tallies = {};
        for (const li of document.querySelectorAll('#run-live .tallies li'))
          tallies[li.textContent.replace(/^[\\d,]+\\s*/, '').trim()] = Number(li.querySelector('strong').textContent.replace(/,/g, ''));
        const rows = {};
        const badges = document.querySelectorAll('#run-tenants tbody .badge');
        for (const badge of badges) rows[badge.textContent.trim()] = (rows[badge.textContent.trim()] ?? 0) + 1;
        return { tallies, rows, tenants: badges.length };
      })()`,
    );

  it('tells the operator the truth at a glance: refusals beside their fields, a live page that agrees with itself, an honest rate after a pause, a cancel where it stopped', async () => {
    const { page } = browser;
    await settle();
    await undoRebuilds(h.database.pool);
    await signIn(page, operator, 'story-login');
    await page.goto('/system/ops/runbooks');
    const runbook = page.locator('article.runbook', {
      has: page.getByText('findings.lifecycle.rebuild', { exact: true }),
    });

    // An unknown tenant: refused by the tenant field, as an alert, with the names that come close.
    await runbook.getByLabel('One tenant').check();
    await runbook.locator('input[name="tenant"]').fill('tenant-0000');
    await runbook.getByRole('button', { name: /Run preflight/ }).click();
    await page.locator('#tenant-problem-0:not([hidden])').waitFor();
    expect(await page.locator('#tenant-problem-0').textContent()).toContain('Unknown tenant');
    await refusalBeside(page, '#tenant-problem-0', 'tenant');
    await screenshot(page, 'story-refusal-tenant');

    // All tenants, a wrong phrase: refused by the phrase's field, the reason kept. Slow batches
    // (8 of 2 s, one tenant at a time) leave time to watch, pause and resume the run it starts.
    restoreSpeed = await slowBatches(h.database.pool, 2_000);
    await preflightAllTenants(page, 'story');
    await page.locator('#tenant-problem-0[hidden]').waitFor({ state: 'attached' });
    const confirm = page.locator('form.confirm');
    await confirm.getByLabel(/Reason/).fill(REASON);
    await confirm.getByLabel(/to confirm a run on every tenant/).fill('ALL TENANT');
    await confirm.getByRole('button', { name: 'Start' }).click();
    await page.locator('#confirmation-problem').waitFor();
    await refusalBeside(page, '#confirmation-problem', 'confirmation');
    expect(await page.locator('form.confirm textarea[name="reason"]').inputValue()).toBe(REASON);
    await screenshot(page, 'story-refusal-phrase');

    // The preflight grows stale while the operator reads: the refusal is an alert at the top with
    // the way out, and the new preflight's confirmation still has what was typed.
    const preflightId = await page.locator('form.confirm input[name="preflightId"]').inputValue();
    await h.database.pool.query(`UPDATE preflights SET created_at = created_at - interval '2 hours' WHERE id = $1`, [
      preflightId,
    ]);
    await page
      .locator('form.confirm')
      .getByLabel(/to confirm a run on every tenant/)
      .fill('ALL TENANTS');
    await page.locator('form.confirm').getByRole('button', { name: 'Start' }).click();
    const stale = page.locator('.preflight-result .notice.error[role="alert"]');
    await stale.waitFor();
    expect(await stale.textContent()).toMatch(/minutes old/);
    expect(
      await page.evaluate<string>(
        `getComputedStyle(document.querySelector('.preflight-result .notice.error[role="alert"]')).color`,
      ),
    ).toBe('rgb(183, 28, 28)');
    await screenshot(page, 'story-refusal-stale');
    await stale.getByRole('button', { name: 'Run a new preflight' }).click();
    await page.locator('form.confirm').waitFor();
    expect(await page.locator('form.confirm textarea[name="reason"]').inputValue()).toBe(REASON);
    expect(await page.locator('form.confirm input[name="confirmation"]').inputValue()).toBe('ALL TENANTS');
    await page.locator('form.confirm').getByRole('button', { name: 'Start' }).click();
    await page.waitForURL(RUN_URL);
    const runId = RUN_URL.exec(page.url())![1]!;
    expect(await page.locator('.toast').textContent()).toContain('Rebuild Findings Lifecycle queued');
    expect(await page.locator('h1').textContent()).toBe('Rebuild Findings Lifecycle — all tenants');
    // The toast shows once: not on a reload, nor on the way Back.
    await page.reload();
    expect(await page.locator('.toast').count()).toBe(0);
    await page.goto('/system/ops/runs');
    await page.goBack();
    expect(new URL(page.url()).pathname).toBe(`/system/ops/runs/${runId}`);
    expect(await page.locator('.toast').count()).toBe(0);

    // While it runs, every poll's figures are its tenants table's: the same read.
    await page.locator('#run-live .status-running').waitFor({ timeout: 20_000 });
    await screenshot(page, 'story-run-running');
    const samples: Array<Awaited<ReturnType<typeof figuresAndTable>>> = [];
    for (let poll = 0; poll < 3; poll++) {
      // The next poll's answer: htmx swaps the live part, the tenants and the trail together.
      await page.evaluate(
        `new Promise((resolve) => document.body.addEventListener('htmx:afterSettle', resolve, { once: true }))`,
      );
      samples.push(await figuresAndTable(page));
    }
    for (const sample of samples) {
      expect(sample.tallies.tenants, JSON.stringify(sample)).toBe(sample.tenants);
      for (const status of ['succeeded', 'failed', 'running', 'pending', 'cancelled'])
        expect(sample.tallies[status] ?? 0, `${status}: ${JSON.stringify(sample)}`).toBe(sample.rows[status] ?? 0);
    }
    await until(
      () => liveRunCounts(h.database.pool, runId),
      (counts) => (counts.examined ?? 0) >= 20,
      'some work done before the pause',
    );
    await expect.poll(() => page.locator('#run-progress').getAttribute('value')).not.toBe('0');
    await docsScreenshot(page, 'run-page');

    // A colleague pauses it from elsewhere: the badge, the ETA and the audit trail say so within a poll.
    const control = { pool: h.database.pool, launcher: h.launcher };
    const asked = { runId, initiator: h.operator, source: 'cli' as const, reason: 'Holding for the 10 s check' };
    await controlRun(control, asked, 'pause');
    const pausedAt = Date.now();
    await expect
      .poll(() => page.locator('#run-audit').textContent(), { timeout: 2_500, interval: 100 })
      .toContain('runbook.paused');
    const shownAfterMs = Date.now() - pausedAt;
    expect(await page.locator('#run-live .badge').allTextContents()).toEqual(['Paused']);
    await expect.poll(() => page.locator('#run-live .pace').textContent()).toContain('ETA —');
    await screenshot(page, 'story-run-paused');
    // The scenario is a pause of 10 s (a span of time, not a wait for a condition).
    await sleep(10_000 - (Date.now() - pausedAt));
    await controlRun(control, { ...asked, reason: 'Resuming after the 10 s check' }, 'resume');
    const pausedForMs = Date.now() - pausedAt;

    // Just after the resume, the rate is the work done over the time spent working, the pause left out.
    const pace = page.locator('#run-live .pace');
    await expect.poll(() => pace.textContent(), { timeout: 5_000 }).toMatch(/ETA about/);
    const shownRate = Number(/([\d,]+) findings\/s/.exec((await pace.textContent())!)![1]!.replace(/,/g, ''));
    const run = (await getRun(h.database.pool, runId))!;
    const examined = (await liveRunCounts(h.database.pool, runId)).examined ?? 0;
    const workedSeconds = (Date.now() - run.startedAt!.getTime() - pausedForMs) / 1000;
    const expectedRate = examined / workedSeconds;
    expect(
      Math.abs(shownRate - expectedRate) / expectedRate,
      `shown ${shownRate}/s, expected ${expectedRate.toFixed(1)}/s`,
    ).toBeLessThan(0.2);
    console.log(
      `[story] pause on the trail after ${shownAfterMs} ms; rate ${shownRate}/s vs ${expectedRate.toFixed(1)}/s (paused ${pausedForMs} ms)`,
    );

    // Done: one badge, the time worked and paused apart.
    await page.locator('#run-live .status-completed').waitFor({ timeout: 60_000 });
    expect(await page.locator('#run-live .badge').allTextContents()).toEqual(['Succeeded']);
    expect(await pace.textContent()).toMatch(/worked \d+( min \d+)? s, paused 1\d s/);
    await screenshot(page, 'story-run-succeeded');

    // Cancelled on its page: the run stops where it got to, and says once what never started.
    await undoRebuilds(h.database.pool);
    const { run: doomed } = await h.start({ kind: 'all_tenants' }, { runbook: LIFECYCLE });
    await page.goto(`/system/ops/runs/${doomed.id}`);
    await page.locator('#run-live .status-running').waitFor({ timeout: 20_000 });
    for (let attempt = 1; ; attempt++) {
      // The live part is swapped every second: a click can land on the copy just replaced.
      await page.locator('#run-live').getByRole('button', { name: 'Cancel…' }).click();
      const shown = await page
        .locator('#run-action form textarea[name="reason"]')
        .waitFor({ timeout: 2_500 })
        .then(
          () => true,
          () => false,
        );
      if (shown) break;
      if (attempt === 5) throw new Error('the cancel confirmation never opened in #run-action');
    }
    await page.locator('#run-action form textarea[name="reason"]').fill('Wrong window, doing it tonight');
    await page.locator('#run-action form').getByRole('button', { name: 'Cancel the run' }).click();
    await page.locator('.toast', { hasText: 'Cancel requested' }).waitFor();
    await page.locator('#run-live .status-completed').waitFor({ timeout: 60_000 });
    expect(await page.locator('#run-live .badge').allTextContents()).toEqual(['Cancelled']);
    expect(await pace.textContent()).toMatch(/cancelled at \d+ %/);
    expect(Number(await page.locator('#run-progress').getAttribute('value'))).toBeLessThan(100);
    expect(await page.locator('#run-tenants').textContent()).not.toContain('cancelled before this tenant finished');
    await screenshot(page, 'story-run-cancelled');
    await page.reload();
    expect(await page.locator('.toast').count()).toBe(0);
    await restoreSpeed();
    restoreSpeed = undefined;
  });

  it('fits each operator: a read-only one lands on Runs, filters for paused and failed are URLs, and 390 px has no sideways scroll', async () => {
    await settle();
    await undoRebuilds(h.database.pool);
    // A failed run of one tenant, and a paused run of all of them.
    const [first] = await tenantIds(h.database.pool);
    const unfail = await failTenants(h.database.pool, [first!], 'tenant is locked for the audit');
    let failedId: string;
    try {
      const { run } = await h.start({ kind: 'tenants', externalIds: ['tenant-00001'] }, { runbook: LIFECYCLE });
      failedId = (await waitForRun(h.database.pool, run.id)).id;
    } finally {
      await unfail();
    }
    restoreSpeed = await slowBatches(h.database.pool, 700);
    const { run: held } = await h.start({ kind: 'all_tenants' }, { runbook: LIFECYCLE });
    await until(
      () => getRun(h.database.pool, held.id),
      (run) => run?.status === 'running',
      'the run to be running',
    );
    const control = { pool: h.database.pool, launcher: h.launcher };
    await controlRun(
      control,
      { runId: held.id, initiator: h.operator, source: 'cli', reason: 'Held for the filters' },
      'pause',
    );

    const reader = await createOperator(h.database, [CAPABILITIES.runsView]);
    const desk = await launchChromium({ javaScriptEnabled: true, baseURL });
    try {
      const { page } = desk;
      await signIn(page, reader, 'story-reader-login');
      expect(new URL(page.url()).pathname).toBe('/system/ops/runs');
      expect(await page.locator('header a[href="/system/ops/runbooks"]').count()).toBe(0);
      for (const [status, id] of [
        ['paused', held.id],
        ['failed', failedId!],
      ] as const) {
        await page.locator('select[name="status"]').selectOption(status);
        await page.getByRole('button', { name: 'Filter' }).click();
        await page.waitForURL((url) => url.searchParams.get('status') === status);
        expect(await page.locator(`main a[href="/system/ops/runs/${id}"]`).count(), status).toBe(1);
        expect(await page.locator('table.runs tbody tr').count(), status).toBe(1);
      }
      await page.goto('/system/ops/runs');
      await screenshot(page, 'story-runs-1280');
      await docsScreenshot(page, 'runs-list');
    } finally {
      await desk.close();
    }
    try {
      await expectOneColumnAtPhoneWidth(reader, 'story-390', [
        ['/system/ops/runs', 'story-runs-390'],
        [`/system/ops/runs/${held.id}`, 'story-run-390'],
      ]);
    } finally {
      await controlRun(control, { runId: held.id, initiator: h.operator, source: 'cli' }, 'cancel');
      await waitForRun(h.database.pool, held.id);
    }
  });

  it('is one narrow column at 390 px: the runbooks page and the run page do not scroll sideways', async () => {
    const runId = await finishedRun();
    await expectOneColumnAtPhoneWidth(operator, 'console-390', [
      ['/system/ops/runbooks', 'console-390-runbooks'],
      [`/system/ops/runs/${runId}`, 'console-390-run'],
    ]);
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
