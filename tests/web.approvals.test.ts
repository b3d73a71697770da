// Change requests in the console: an all-tenants start the approval policy holds lands on its
// request; another operator approves it (and lands on the run it started), rejects it, or the
// requester withdraws it, each behind a confirmation with a comment. Through the real app, with a
// real worker, so that an approval really starts a run.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { getChangeRequest } from '../src/runbooks/approvals/changeRequests.js';
import { ALL_CAPABILITIES, CAPABILITIES } from '../src/runbooks/capabilities.js';
import { getRun } from '../src/runbooks/runs.js';
import { buildApp } from '../src/web/app.js';
import {
  adminSessionToken,
  cookieHeader,
  cookiesOf,
  createOperator,
  fieldOf,
  postForm,
  signIn,
} from './support/console.js';
import { LIFECYCLE, useRunbookHarness } from './support/harness.js';
import { waitForRun } from './support/runs.js';
import { undoRebuilds } from './support/slowBatches.js';

type Session = { cookies: Record<string, string>; csrf: string; email: string };

const HOSTILE = '<script>alert(1)</script>';
const CHANGE_URL = /^\/system\/ops\/changes\/([0-9a-f-]{36})$/;
const RUN_URL = /^\/system\/ops\/runs\/([0-9a-f-]{36})$/;

describe('change requests in the console', () => {
  const h = useRunbookHarness({ seed: { tenants: 3, findingsPerTenant: 30, seed: 23 }, settings: { batchSize: 50 } });
  let app: FastifyInstance;
  let requester: Session;
  let approver: Session;
  let viewer: Session;

  const session = async (capabilities: Parameters<typeof createOperator>[1]): Promise<Session> => {
    const operator = await createOperator(h.database, capabilities);
    return { ...(await signIn(app, operator)), email: operator.email };
  };

  beforeAll(async () => {
    // Every all-tenants start needs one approval, as the console's default policy says.
    const { approvals } = loadConfig({ DATABASE_URL: h.database.url, APPROVALS: 'all_tenants:1' });
    app = await buildApp({ config: { ...h.config, approvals }, database: h.database, temporal: h.client });
    // The requester holds every capability, `approve` too: only being the requester keeps them from approving.
    requester = await session(ALL_CAPABILITIES);
    approver = await session(ALL_CAPABILITIES);
    viewer = await session([CAPABILITIES.runsView]);
  });
  afterAll(async () => {
    await app?.close();
  });

  const get = (url: string, as: Pick<Session, 'cookies'>, cookies: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url, headers: { cookie: cookieHeader({ ...as.cookies, ...cookies }) } });
  const decide = (id: string, action: string, as: Session, fields: Record<string, string>) =>
    postForm(app, `/system/ops/changes/${id}/${action}`, { _csrf: as.csrf, ...fields }, { cookies: as.cookies });
  const decisionsOf = async (id: string) =>
    (
      await h.database.pool.query<{ decision: string; comment: string }>(
        'SELECT decision, comment FROM change_approvals WHERE request_id = $1',
        [id],
      )
    ).rows;
  const runCount = async () =>
    (await h.database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM operation_runs')).rows[0]!.n;

  /** Preflights Rebuild Findings Lifecycle on all tenants and confirms it as `as`, as the runbooks page does; the request's id. */
  async function fileRequest(as: Session, reason: string): Promise<string> {
    const form = await postForm(
      app,
      `/system/ops/runbooks/${LIFECYCLE}/preflight`,
      { _csrf: as.csrf, scope: 'all_tenants' },
      { cookies: as.cookies },
    );
    expect(form.statusCode, form.body.slice(0, 500)).toBe(200);
    const confirm = form.body.slice(form.body.indexOf('class="confirm"'));
    const runs = await runCount();
    const filed = await postForm(
      app,
      `/system/ops/runbooks/${LIFECYCLE}/start`,
      {
        _csrf: fieldOf(confirm, '_csrf'),
        scope: 'all_tenants',
        preflightId: fieldOf(confirm, 'preflightId'),
        idempotencyKey: fieldOf(confirm, 'idempotencyKey'),
        reason,
        confirmation: 'ALL TENANTS',
      },
      { cookies: as.cookies },
    );
    expect(filed.statusCode, filed.body.slice(0, 500)).toBe(303);
    const id = CHANGE_URL.exec(filed.headers.location as string)?.[1];
    expect(id, String(filed.headers.location)).toBeDefined();
    expect(await runCount(), 'filing writes no run').toBe(runs);
    return id!;
  }

  it('files an all-tenants start as a change request; its requester may withdraw it but never approve it', async () => {
    const id = await fileRequest(requester, `Rebuild after the rules change ${HOSTILE}`);
    const page = await get(`/system/ops/changes/${id}`, requester);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<span class="badge change-open">Open</span>');
    expect(page.body).toContain('Waiting for 1 more approval.');
    expect(page.body).toContain(`<dd>${requester.email} (system_ui)</dd>`);
    expect(page.body).toContain('Rebuild after the rules change &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page.body).not.toContain(HOSTILE);
    // The preflight the request was confirmed against, with its sample.
    expect(page.body).toContain('<h3>Preflight: all tenants</h3>');
    expect(page.body).toMatch(/Tenants in scope<\/th><td>3</);
    expect(page.body).toContain('Sample: before and after');
    expect(page.body).toContain(`href="/system/ops/changes/${id}/withdraw"`);
    expect(page.body).not.toContain(`/system/ops/changes/${id}/approve`);
    expect(page.body).toContain('You filed this change request; another operator must approve it.');

    expect((await get(`/system/ops/changes/${id}/approve`, requester)).statusCode).toBe(403);
    const selfApproval = await decide(id, 'approve', requester, { comment: 'Looks right to me, honestly' });
    expect(selfApproval.statusCode).toBe(403);
    expect(selfApproval.body).toContain(`You filed change request ${id}; someone else must approve it.`);
    expect(await decisionsOf(id)).toEqual([]);
    expect(await getChangeRequest(h.database.pool, id)).toMatchObject({ status: 'open', runId: null });

    // A viewer sees the request and no form; deciding needs `approve`.
    const seen = await get(`/system/ops/changes/${id}`, viewer);
    expect(seen.statusCode).toBe(200);
    expect(seen.body).not.toContain(`/system/ops/changes/${id}/approve`);
    expect(seen.body).toContain('Deciding on a change request needs the capability platform.ops.runs.approve.');
    expect((await get(`/system/ops/changes/${id}/approve`, viewer)).statusCode).toBe(403);
    expect((await decide(id, 'approve', viewer, { comment: 'I would like to approve' })).statusCode).toBe(403);

    // The approvals page lists it, and an approver's header counts it.
    const list = await get('/system/ops/changes', approver);
    expect(list.statusCode).toBe(200);
    expect(list.body).toContain(`<a href="/system/ops/changes/${id}">all tenants <code>${id.slice(0, 8)}</code></a>`);
    expect(list.body).toContain('Waiting for approval (1)');
    expect(list.body).toContain('<a href="/system/ops/changes">Approvals (<span data-count="1">1</span>)</a>');
    expect((await get('/system/ops/runs', viewer)).body).toContain('<a href="/system/ops/changes">Approvals</a>');

    // Withdrawn by the requester, behind its confirmation: closed, and no run.
    expect((await get(`/system/ops/changes/${id}/withdraw`, approver)).statusCode).toBe(403);
    expect((await decide(id, 'withdraw', approver, {})).statusCode).toBe(403);
    const confirmation = await get(`/system/ops/changes/${id}/withdraw`, requester);
    expect(confirmation.statusCode).toBe(200);
    expect(confirmation.body).toContain('Withdraw the change request?');
    const withdrawn = await decide(id, 'withdraw', requester, {});
    expect(withdrawn.statusCode).toBe(303);
    expect(withdrawn.headers.location).toBe(`/system/ops/changes/${id}`);
    const after = await get(`/system/ops/changes/${id}`, requester, cookiesOf(withdrawn));
    expect(after.body).toContain('The change request is withdrawn; nothing was started.');
    expect(after.body).toContain('<span class="badge change-withdrawn">Withdrawn</span>');
    expect(after.body).not.toContain(`/system/ops/changes/${id}/withdraw"`);
    expect(await getChangeRequest(h.database.pool, id)).toMatchObject({ status: 'withdrawn', runId: null });
    const closed = await get(`/system/ops/changes/${id}/approve`, approver);
    expect(closed.statusCode).toBe(409);
    expect(closed.body).toContain('This change request was withdrawn');
    expect((await get('/system/ops/changes', approver)).body).toContain('Approvals (<span data-count="0">0</span>)');
  });

  it('another operator approves with a comment and lands on the run it started, which names them', async () => {
    const id = await fileRequest(requester, 'Rebuild lifecycle fields after the rules change');
    const page = await get(`/system/ops/changes/${id}`, approver);
    expect(page.body).toContain(`href="/system/ops/changes/${id}/approve"`);
    expect(page.body).toContain(`href="/system/ops/changes/${id}/reject"`);
    const form = await get(`/system/ops/changes/${id}/approve`, approver);
    expect(form.statusCode).toBe(200);
    expect(form.body).toContain('Approve the change request?');
    expect(form.body).toContain('Yours is the last approval it needs: the run starts at once');
    expect(form.body).toContain('Rebuild lifecycle fields after the rules change');

    // Too short: refused beside the form, the comment kept, nothing written.
    const short = await decide(id, 'approve', approver, { comment: 'too short' });
    expect(short.statusCode).toBe(422);
    expect(short.body).toContain('The comment must be 10 to 500 characters; it has 9.');
    expect(short.body).toMatch(/<textarea name="comment"[^>]*>too short<\/textarea>/);
    expect(await decisionsOf(id)).toEqual([]);

    // Without the CSRF token: 403, nothing written.
    const forged = await postForm(
      app,
      `/system/ops/changes/${id}/approve`,
      { comment: 'Checked the preflight numbers' },
      { cookies: approver.cookies },
    );
    expect(forged.statusCode).toBe(403);
    expect(await decisionsOf(id)).toEqual([]);

    const comment = `Checked the preflight numbers ${HOSTILE}`;
    const approved = await decide(id, 'approve', approver, { comment });
    expect(approved.statusCode).toBe(303);
    const runId = RUN_URL.exec(approved.headers.location as string)?.[1];
    expect(runId, String(approved.headers.location)).toBeDefined();
    expect(await getRun(h.database.pool, runId!)).toMatchObject({
      changeRequestId: id,
      approvedBy: [approver.email],
      initiatorLabel: requester.email,
    });
    const runPage = await get(`/system/ops/runs/${runId}`, approver, cookiesOf(approved));
    expect(runPage.statusCode).toBe(200);
    expect(runPage.body).toContain('Rebuild Findings Lifecycle approved and queued');
    expect(runPage.body).toContain(
      `Approved by ${approver.email} — <a href="/system/ops/changes/${id}">change request <code>${id.slice(0, 8)}</code></a>`,
    );

    const decided = await get(`/system/ops/changes/${id}`, viewer);
    expect(decided.body).toContain('<span class="badge change-approved">Approved</span>');
    expect(decided.body).toContain(`<a href="/system/ops/runs/${runId}">run <code>${runId}</code></a>`);
    expect(decided.body).toContain(
      `<strong>Approved</strong> by ${approver.email}: <span class="reason">Checked the preflight numbers &lt;script&gt;alert(1)&lt;/script&gt;</span>`,
    );
    expect(decided.body).not.toContain(HOSTILE);
    expect((await get(`/system/ops/changes/${id}/approve`, approver)).statusCode).toBe(409);
    const again = await decide(id, 'approve', approver, { comment: 'Approving once more, to be sure' });
    expect(again.statusCode).toBe(409);
    expect(again.body).toContain(`approved and started as run ${runId}`);

    // The approver heard of the request, the requester of its approval; either leads to the request.
    const asked = (await get('/system/notifications', approver)).body;
    expect(asked).toContain(`${requester.email} asks for approval: Rebuild Findings Lifecycle on all tenants`);
    const told = await get('/system/notifications', requester);
    expect(told.body).toContain(
      `Your change request for Rebuild Findings Lifecycle on all tenants was approved by ${approver.email}; its run is queued`,
    );
    const link = new RegExp(`<a href="(/system/notifications/\\d+/open)">Your change request`).exec(told.body)?.[1];
    const opened = await get(link!, requester);
    expect(opened.statusCode).toBe(303);
    expect(opened.headers.location).toBe(`/system/ops/changes/${id}`);

    expect(await waitForRun(h.database.pool, runId!)).toMatchObject({ outcome: 'succeeded' });
  });

  it('another operator rejects it with a comment: closed, no run, and the requester is told', async () => {
    const id = await fileRequest(requester, 'Rebuild again, for the audit');
    const runs = await runCount();
    const form = await get(`/system/ops/changes/${id}/reject`, approver);
    expect(form.statusCode).toBe(200);
    expect(form.body).toContain('Rejecting closes the request');
    const empty = await decide(id, 'reject', approver, { comment: '' });
    expect(empty.statusCode).toBe(422);
    expect(empty.body).toContain('The comment must be 10 to 500 characters; it has 0.');
    const rejected = await decide(id, 'reject', approver, { comment: `Not during the freeze ${HOSTILE}` });
    expect(rejected.statusCode).toBe(303);
    expect(rejected.headers.location).toBe(`/system/ops/changes/${id}`);
    const page = await get(`/system/ops/changes/${id}`, approver, cookiesOf(rejected));
    expect(page.body).toContain('The change request is rejected; nothing was started.');
    expect(page.body).toContain('<span class="badge change-rejected">Rejected</span>');
    expect(page.body).toContain('Not during the freeze &lt;script&gt;');
    expect(page.body).not.toContain(HOSTILE);
    expect(await getChangeRequest(h.database.pool, id)).toMatchObject({ status: 'rejected', runId: null });
    expect(await runCount()).toBe(runs);
    const told = (await get('/system/notifications', requester)).body;
    expect(told).toContain(`was rejected by ${approver.email}: Not during the freeze &lt;script&gt;`);
    expect(told).not.toContain(HOSTILE);
    expect((await get(`/system/ops/changes/${id}/reject`, approver)).statusCode).toBe(409);
  });

  it('an approval that finds the data changed since the preflight voids the request and starts nothing', async () => {
    await undoRebuilds(h.database.pool);
    const id = await fileRequest(requester, 'Rebuild while the data is stale');
    // Another run does the work meanwhile: the preflight's count no longer holds.
    const { run } = await h.start({ kind: 'all_tenants' }, { runbook: LIFECYCLE });
    await waitForRun(h.database.pool, run.id);
    const runs = await runCount();
    const voided = await decide(id, 'approve', approver, { comment: 'Checked the preflight numbers' });
    expect(voided.statusCode).toBe(303);
    expect(voided.headers.location).toBe(`/system/ops/changes/${id}`);
    expect(await getChangeRequest(h.database.pool, id)).toMatchObject({ status: 'voided', runId: null });
    expect(await runCount()).toBe(runs);
    const page = await get(`/system/ops/changes/${id}`, approver, cookiesOf(voided));
    expect(page.body).toContain('the request is void and nothing was started');
    expect(page.body).toContain('<span class="badge change-voided">Void</span>');
    expect(page.body).toContain('This change request is void: ');
    expect(page.body).toContain('<dt>Void because</dt>');
  });

  it('an unknown or malformed id is a 404, and a customer of /admin gets the unknown-URL 404', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const url of [
      `/system/ops/changes/${unknown}`,
      `/system/ops/changes/${unknown}/approve`,
      `/system/ops/changes/not-a-uuid`,
      `/system/ops/changes/not-a-uuid/withdraw`,
    ]) {
      expect((await get(url, approver)).statusCode, url).toBe(404);
    }
    expect((await decide(unknown, 'approve', approver, { comment: 'Checked the preflight numbers' })).statusCode).toBe(
      404,
    );
    const admin = { admin_session: await adminSessionToken(h.database) };
    for (const url of ['/system/ops/changes', `/system/ops/changes/${unknown}`])
      expect((await get(url, { cookies: admin })).statusCode, url).toBe(404);
  });

  it('lists every request, newest first, with its status and run', async () => {
    const list = (await get('/system/ops/changes', viewer)).body;
    expect(list).toContain('No change request is waiting.');
    const statuses = [...list.matchAll(/<span class="badge change-(\w+)">/g)].map((match) => match[1]);
    expect(statuses).toEqual(['voided', 'rejected', 'approved', 'withdrawn']);
    expect(list).toMatch(/<a href="\/system\/ops\/runs\/[0-9a-f-]{36}">run <code>/);
    expect(list).not.toContain('Older requests');
  });
});
