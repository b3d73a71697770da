// Two operators in two browsers: A's all-tenants start becomes a change request; B sees it waiting
// in the header, approves it with a comment and lands on the run it started; A hears of it.
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { ALL_CAPABILITIES } from '../src/runbooks/capabilities.js';
import { getRun } from '../src/runbooks/runs.js';
import { buildApp } from '../src/web/app.js';
import { DESKTOP, launchChromium, PHONE, screenshot, type ChromiumSession } from './support/browser.js';
import { createOperator } from './support/console.js';
import { LIFECYCLE, useRunbookHarness } from './support/harness.js';
import { waitForRun } from './support/runs.js';
import { undoRebuilds } from './support/slowBatches.js';

const REASON = 'Rebuild lifecycle fields after the rules change (approvals browser test)';
const COMMENT = 'Checked the preflight: the numbers match the rules change';
const CHANGE_URL = /\/system\/ops\/changes\/([0-9a-f-]{36})$/;
const RUN_URL = /\/system\/ops\/runs\/([0-9a-f-]{36})$/;

type Operator = { email: string; password: string };

async function signIn(page: Page, operator: Operator) {
  await page.goto('/system/login');
  await page.getByLabel('Email').fill(operator.email);
  await page.getByLabel('Password').fill(operator.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname !== '/system/login');
}

/** Errors the page throws or logs, for the test to say none happened. */
function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`${message.text()} (${message.location().url})`);
  });
  return errors;
}

describe('approving a change request in Chromium, as two operators', { timeout: 120_000 }, () => {
  const h = useRunbookHarness({ seed: { tenants: 3, findingsPerTenant: 30, seed: 31 } });
  let app: FastifyInstance;
  let baseURL: string;
  let a: ChromiumSession;
  let b: ChromiumSession;

  beforeAll(async () => {
    const { approvals } = loadConfig({ DATABASE_URL: h.database.url, APPROVALS: 'all_tenants:1' });
    app = await buildApp({ config: { ...h.config, approvals }, database: h.database, temporal: h.client });
    baseURL = await app.listen({ host: '127.0.0.1', port: 0 });
    // Each operator in a browser of their own: no cookie is shared.
    a = await launchChromium({ baseURL });
    b = await launchChromium({ baseURL });
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await app?.close();
  });

  it('A files an all-tenants start, B approves it with a comment and lands on the run, A is told', async () => {
    await undoRebuilds(h.database.pool);
    const requester = await createOperator(h.database, ALL_CAPABILITIES);
    const approver = await createOperator(h.database, ALL_CAPABILITIES);
    const errorsA = collectErrors(a.page);
    const errorsB = collectErrors(b.page);

    // A: preflight, confirm, Start: the policy holds it, and A lands on the request.
    await signIn(a.page, requester);
    await a.page.goto('/system/ops/runbooks');
    const runbook = a.page.locator('article.runbook', {
      has: a.page.getByText(LIFECYCLE, { exact: true }),
    });
    await runbook.getByLabel('All tenants').check();
    await runbook.getByRole('button', { name: /Run preflight/ }).click();
    const confirm = a.page.locator('form.confirm');
    await confirm.getByLabel(/Reason/).fill(REASON);
    await confirm.getByLabel(/to confirm a run on every tenant/).fill('ALL TENANTS');
    await confirm.getByRole('button', { name: 'Start' }).click();
    await a.page.waitForURL(CHANGE_URL);
    const changeId = CHANGE_URL.exec(a.page.url())![1]!;
    expect(await a.page.locator('p.status').textContent()).toContain('Waiting for 1 more approval.');
    expect(await a.page.locator('section.preflight').count()).toBe(1);
    expect(await a.page.getByRole('button', { name: 'Approve…' }).count(), 'no approving one’s own request').toBe(0);
    await screenshot(a.page, 'approvals-requester-filed');

    // B: the header counts the request waiting; the approvals page lists it.
    await signIn(b.page, approver);
    const count = b.page.locator('header a[href="/system/ops/changes"] [data-count]');
    expect(await count.getAttribute('data-count')).toBe('1');
    await b.page
      .locator('header')
      .getByRole('link', { name: /^Approvals/ })
      .click();
    await b.page.waitForURL((url) => url.pathname === '/system/ops/changes');
    await screenshot(b.page, 'approvals-list');
    // At phone width each request is a card: nothing to scroll sideways.
    await b.page.setViewportSize(PHONE);
    expect(await b.page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
    await screenshot(b.page, 'approvals-list-390');
    await b.page.setViewportSize(DESKTOP);
    await b.page.locator(`table.open-changes a[href="/system/ops/changes/${changeId}"]`).click();
    await b.page.waitForURL((url) => url.pathname === `/system/ops/changes/${changeId}`);
    expect(await b.page.locator('.run-facts').textContent()).toContain(REASON);
    await b.page.getByRole('button', { name: 'Approve…' }).click();
    await b.page.waitForURL((url) => url.pathname === `/system/ops/changes/${changeId}/approve`);
    await b.page.getByLabel(/Comment/).fill(COMMENT);
    await screenshot(b.page, 'approvals-approve-confirmation');
    await b.page.getByRole('button', { name: 'Approve' }).click();

    // B lands on the run the approval started, which names B and links the request.
    await b.page.waitForURL(RUN_URL);
    const runId = RUN_URL.exec(b.page.url())![1]!;
    expect(await b.page.locator('.toast').textContent()).toContain('Rebuild Findings Lifecycle approved and queued');
    const approval = b.page.locator('p.approval');
    expect(await approval.textContent()).toContain(`Approved by ${approver.email}`);
    expect(await approval.locator('a').getAttribute('href')).toBe(`/system/ops/changes/${changeId}`);
    await screenshot(b.page, 'approvals-run-started');
    expect(await getRun(h.database.pool, runId)).toMatchObject({
      changeRequestId: changeId,
      approvedBy: [approver.email],
      initiatorLabel: requester.email,
    });

    // A: the notification says it was approved, and leads to the request, which links the run.
    await a.page.goto('/system/notifications');
    const notice = a.page.locator('#notifications li.unread a', {
      hasText: `Your change request for Rebuild Findings Lifecycle on all tenants was approved by ${approver.email}`,
    });
    await screenshot(a.page, 'approvals-requester-notified');
    await notice.click();
    await a.page.waitForURL((url) => url.pathname === `/system/ops/changes/${changeId}`);
    expect(await a.page.locator('p.status').textContent()).toContain('Approved');
    expect(await a.page.locator(`p.status a[href="/system/ops/runs/${runId}"]`).count()).toBe(1);
    expect(await a.page.locator('section.decisions').textContent()).toContain(COMMENT);

    expect(await waitForRun(h.database.pool, runId)).toMatchObject({ outcome: 'succeeded' });
    expect(errorsA, 'errors in A’s browser console').toEqual([]);
    expect(errorsB, 'errors in B’s browser console').toEqual([]);
  });
});
