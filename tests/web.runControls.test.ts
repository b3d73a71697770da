import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_CAPABILITIES, CAPABILITIES } from '../src/runbooks/capabilities.js';
import { getRun } from '../src/runbooks/runs.js';
import { buildApp } from '../src/web/app.js';
import { parseCsv } from './support/csv.js';
import { cookieHeader, cookiesOf, createOperator, fieldOf, postForm, signIn } from './support/console.js';
import { unflagFindings } from './support/flagOracle.js';
import { RUNBOOK, useRunbookHarness } from './support/harness.js';
import { tenantIds, waitForRun } from './support/runs.js';
import { failTenants, slowBatches } from './support/slowBatches.js';
import { until } from './support/until.js';

type Session = { cookies: Record<string, string>; csrf: string };
const REASON = 'Checking the canary numbers before going on';

describe('the run page: live progress and the operator actions, on real runs', () => {
  const h = useRunbookHarness({
    seed: { tenants: 6, findingsPerTenant: 100, seed: 29 },
    settings: { batchSize: 20, childParallelism: 2 },
  });
  let app: FastifyInstance;
  let manager: Session;
  let viewer: Session;
  let managerEmail: string;

  beforeAll(async () => {
    app = await buildApp({ config: h.config, database: h.database, temporal: h.client });
    const operator = await createOperator(h.database, ALL_CAPABILITIES);
    managerEmail = operator.email;
    manager = await signIn(app, operator);
    viewer = await signIn(app, await createOperator(h.database, [CAPABILITIES.runsView]));
  });
  afterAll(async () => {
    await app?.close();
  });

  const get = (url: string, as: Session = manager, headers: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url, headers: { cookie: cookieHeader(as.cookies), ...headers } });
  const poll = (runId: string, as: Session = manager) =>
    get(`/system/ops/runs/${runId}/progress`, as, { 'hx-request': 'true' });
  const act = (runId: string, action: string, fields: Record<string, string>, as: Session = manager) =>
    postForm(
      app,
      `/system/ops/runs/${runId}/actions/${action}`,
      { _csrf: as.csrf, ...fields },
      { cookies: as.cookies },
    );
  const auditOf = async (runId: string) =>
    (
      await h.database.pool.query<{ action: string; metadata: Record<string, unknown> }>(
        `SELECT action, metadata FROM audit_events WHERE target_kind = 'operation_run' AND target_id = $1 ORDER BY id`,
        [runId],
      )
    ).rows;

  /** An all-tenants run made slow enough to act on, once it is running; and the undo of the slowness. */
  const startSlowRun = async () => {
    await unflagFindings(h.database.pool);
    const restore = await slowBatches(h.database.pool, 150);
    const { run } = await h.start({ kind: 'all_tenants' });
    await until(
      () => getRun(h.database.pool, run.id),
      (r) => r?.status === 'running',
      'the run to be running',
    );
    return { run, restore };
  };

  /** Posts a form of the runbooks page as the manager. */
  const postRunbookForm = (step: 'preflight' | 'start', fields: Record<string, string>) =>
    postForm(app, `/system/ops/runbooks/${RUNBOOK}/${step}`, fields, { cookies: manager.cookies });

  /** The runbook's parameters as the confirmation step carries them: a list's values in one field, with commas. */
  const parametersOf = (confirm: string) => {
    const fields: Record<string, string> = {};
    for (const [, name, value] of confirm.matchAll(/name="(p\.[A-Za-z]+)" value="([^"]*)"/g))
      fields[name!] = fields[name!] === undefined ? value! : `${fields[name!]},${value}`;
    expect(Object.keys(fields)).toEqual(['p.olderThanDays', 'p.severities', 'p.note']);
    return fields;
  };

  it('pauses, tunes and resumes a running run from its page, each behind a reason, and the poll stops at the end', async () => {
    const { run, restore } = await startSlowRun();
    try {
      const live = await poll(run.id);
      expect(live.statusCode).toBe(200);
      expect(live.body).toContain('id="run-live"');
      expect(live.body).toContain(`hx-get="/system/ops/runs/${run.id}/progress" hx-trigger="every 1s"`);
      expect(live.body).toMatch(/<progress id="run-progress" value="\d+" max="100"/);
      expect(live.body).toContain(`href="/system/ops/runs/${run.id}/actions/pause"`);
      expect(live.headers['hx-trigger']).toBeUndefined();
      // Every poll brings the tenants and the audit trail along, from the same read as the figures.
      expect(live.body).toContain('<section id="run-tenants" hx-swap-oob="true">');
      expect(live.body).toContain('<section id="run-audit" hx-swap-oob="true">');
      expect(live.body).toContain('<span class="badge status-running">Running</span>');
      expect(live.body).toContain('Goes on with 2 tenants at once · batches of 20 rows.');
      // The viewer watches the same run and is offered nothing to do.
      expect((await poll(run.id, viewer)).body).not.toContain('/actions/');
      expect((await get(`/system/ops/runs/${run.id}/actions/pause`, viewer)).statusCode).toBe(403);
      expect((await act(run.id, 'pause', { reason: REASON }, viewer)).statusCode).toBe(403);

      // The confirmation step, then a refusal by the reason field that changes nothing.
      const confirmation = await get(`/system/ops/runs/${run.id}/actions/pause`);
      expect(confirmation.statusCode).toBe(200);
      expect(confirmation.body).toContain('Pausing lets running tenants finish their current batch');
      const short = await act(run.id, 'pause', { reason: 'short' });
      expect(short.statusCode).toBe(422);
      expect(short.body).toMatch(
        /id="action-reason-problem" role="alert">The reason must be 10 to 500 characters; it has 5/,
      );
      expect((await getRun(h.database.pool, run.id))!.pausedAt).toBeNull();

      const paused = await act(run.id, 'pause', { reason: REASON });
      expect(paused.statusCode).toBe(303);
      // The URL carries no flag: the toast comes once, with a cookie the page clears.
      expect(paused.headers.location).toBe(`/system/ops/runs/${run.id}`);
      expect(await getRun(h.database.pool, run.id)).toMatchObject({ pausedBy: managerEmail, pauseReason: REASON });
      const notice = cookiesOf(paused);
      const pausedPage = await get(`/system/ops/runs/${run.id}`, {
        ...manager,
        cookies: { ...manager.cookies, ...notice },
      });
      expect(pausedPage.body).toContain('Pause requested');
      expect(pausedPage.body).toContain(`by ${managerEmail}: <span class="reason">${REASON}</span>`);
      expect(pausedPage.body).toContain('ETA —');
      expect(pausedPage.body).toContain('<span class="badge status-paused">Paused</span>');
      expect(pausedPage.body).not.toContain('status-running');
      expect(pausedPage.body).toContain(`href="/system/ops/runs/${run.id}/actions/resume"`);
      expect(cookiesOf(pausedPage).run_notice, 'the page clears the notice it showed').toBe('');
      expect((await get(`/system/ops/runs/${run.id}`)).body, 'a reload shows no toast').not.toContain(
        'Pause requested',
      );
      // The pause is on the live trail at once, without a reload.
      expect((await poll(run.id)).body).toContain(`<strong>runbook.paused</strong> by ${managerEmail}`);

      const outOfRange = await act(run.id, 'tune', { parallelism: '99', reason: REASON });
      expect(outOfRange.statusCode).toBe(422);
      expect(outOfRange.body).toMatch(/id="tuning-problem" role="alert">The parallelism must be/);
      // A health-gate threshold that is not one: said beside the form, kept as typed, its section open.
      const notADuration = await act(run.id, 'tune', { maxReplicaLag: 'soon', reason: REASON });
      expect(notADuration.statusCode).toBe(422);
      expect(notADuration.body).toContain(
        'id="tuning-problem" role="alert">Max replica lag: &quot;soon&quot; is not a duration (write 500ms, 5s, 2m or 1h)',
      );
      expect(notADuration.body).toContain('<details class="gate-fields" open>');
      expect(notADuration.body).toMatch(/name="maxReplicaLag" maxlength="40" value="soon"/);
      const notASize = await act(run.id, 'tune', { batchSize: 'lots', reason: REASON });
      expect(notASize.statusCode).toBe(422);
      expect(notASize.body).toContain(
        'id="tuning-problem" role="alert">Batch size: &quot;lots&quot; is not a batch size (write auto, or a whole number of rows).',
      );
      expect(notASize.body).toMatch(/name="batchSize" maxlength="12" placeholder="auto or rows" value="lots"/);
      expect(
        (
          await act(run.id, 'tune', {
            parallelism: '3',
            batchSize: 'auto',
            batchTarget: '300ms',
            maxReplicaLag: '10s',
            reason: 'Faster now that the canary looked right',
          })
        ).statusCode,
      ).toBe(303);
      const tuned = (await poll(run.id)).body;
      expect(tuned).toContain('Goes on with 3 tenants at once · batches sized to take 300 ms.');
      expect(tuned).toContain('Health gates: max-replica-lag 10 s, ');
      expect(tuned).toContain('<strong>runbook.tuned</strong> by');
      expect(tuned).toContain(
        '(parallelism 2 → 3, batch size 20 rows → auto (300 ms a batch), max-replica-lag 5 s → 10 s)',
      );
      const tuneForm = (await get(`/system/ops/runs/${run.id}/actions/tune`)).body;
      expect(tuneForm).toContain('now <strong>3</strong>');
      expect(tuneForm).toContain('now <strong>auto (300 ms a batch)</strong>');
      expect(tuneForm).toContain('now <strong>10 s</strong>');

      expect((await act(run.id, 'resume', { reason: REASON })).statusCode).toBe(303);
      const done = await waitForRun(h.database.pool, run.id);
      expect(done).toMatchObject({ status: 'completed', outcome: 'succeeded', pausedAt: null });

      // The last poll: no trigger (polling stops), the event the header listens for, and the
      // tenants and audit trail out of band, since they changed with the run.
      const last = await poll(run.id);
      expect(last.body).not.toContain('hx-trigger="every');
      expect(last.headers['hx-trigger']).toBe('runCompleted');
      expect(last.body).toContain('<section id="run-tenants" hx-swap-oob="true">');
      expect(last.body).toContain('<section id="run-audit" hx-swap-oob="true">');
      expect(last.body).toMatch(/value="100" max="100"/);
      expect(last.body).toContain('<span class="badge status-completed outcome-succeeded">Succeeded</span>');
      expect(last.body.match(/class="badge status-/g), 'one status badge').toHaveLength(1);
      expect(last.body).toMatch(/worked \d+ s/);
      // The pause's time is kept apart from the working time (the page names it from a second on).
      expect((await getRun(h.database.pool, run.id))!.pausedMs).toBeGreaterThan(0);

      const audit = await auditOf(run.id);
      expect(audit.filter((event) => event.action === 'runbook.paused')).toEqual([
        { action: 'runbook.paused', metadata: expect.objectContaining({ reason: REASON, source: 'system_ui' }) },
      ]);
      expect(audit.filter((event) => event.action === 'runbook.tuned')).toEqual([
        {
          action: 'runbook.tuned',
          metadata: expect.objectContaining({ to: expect.objectContaining({ parallelism: 3 }), source: 'system_ui' }),
        },
      ]);
      expect(audit.filter((event) => event.action === 'runbook.resumed')).toHaveLength(1);
      // The reasons are on the page's audit trail.
      expect((await get(`/system/ops/runs/${run.id}`)).body).toContain(
        `<strong>runbook.paused</strong> by ${managerEmail}: <span class="reason">${REASON}</span>`,
      );
    } finally {
      await restore();
    }
  });

  it('a canary wave asked for on the confirmation step pauses the run after it, and the run page says why', async () => {
    await unflagFindings(h.database.pool);
    const form = await postRunbookForm('preflight', {
      _csrf: manager.csrf,
      scope: 'all_tenants',
      'p.olderThanDays': '1',
    });
    const confirm = form.body.slice(form.body.indexOf('class="confirm"'));
    const started = await postRunbookForm('start', {
      _csrf: fieldOf(confirm, '_csrf'),
      scope: 'all_tenants',
      ...parametersOf(confirm),
      preflightId: fieldOf(confirm, 'preflightId'),
      idempotencyKey: fieldOf(confirm, 'idempotencyKey'),
      reason: 'Canary first, then everyone',
      confirmation: 'ALL TENANTS',
      canary: 'on',
      canaryCount: '2',
    });
    expect(started.statusCode).toBe(303);
    const runId = /runs\/([0-9a-f-]{36})/.exec(started.headers.location as string)![1]!;
    const paused = await until(
      () => getRun(h.database.pool, runId),
      (r) => r?.pausedAt != null,
      'the canary pause',
      60_000,
    );
    expect(paused).toMatchObject({
      guards: { canary: { count: 2 } },
      pauseReason: 'canary done: 2 succeeded, 0 failed',
    });
    const page = (await get(`/system/ops/runs/${runId}`)).body;
    expect(page).toContain('canary wave of 2 tenants, then pause for a go-ahead');
    expect(page).toContain(': <span class="reason">canary done: 2 succeeded, 0 failed</span>.');
    expect(page).toContain(`href="/system/ops/runs/${runId}/actions/resume"`);
    expect((await act(runId, 'resume', { reason: 'The canary looked right' })).statusCode).toBe(303);
    expect(await waitForRun(h.database.pool, runId)).toMatchObject({ outcome: 'succeeded' });
  });

  it('cancels a running run after its confirmation; a completed run offers no action and refuses one in words', async () => {
    const { run, restore } = await startSlowRun();
    try {
      expect((await get(`/system/ops/runs/${run.id}/actions/cancel`)).body).toContain('the run completes as cancelled');
      expect((await act(run.id, 'cancel', { reason: 'Wrong window, doing it tonight' })).statusCode).toBe(303);
      expect(await waitForRun(h.database.pool, run.id)).toMatchObject({ status: 'completed', outcome: 'cancelled' });

      // Cancelled where it got to, the tenants it never started said once, not on every row.
      const { rows } = await h.database.pool.query<{ settled: number; unstarted: number; total: number }>(
        `SELECT count(*) FILTER (WHERE status IN ('succeeded', 'failed'))::int AS settled,
                count(*) FILTER (WHERE status = 'cancelled' AND started_at IS NULL)::int AS unstarted,
                count(*)::int AS total
           FROM operation_run_items WHERE run_id = $1`,
        [run.id],
      );
      const { settled, unstarted, total } = rows[0]!;
      const cancelledPage = (await get(`/system/ops/runs/${run.id}`)).body;
      expect(cancelledPage).toContain('<span class="badge status-completed outcome-cancelled">Cancelled</span>');
      expect(cancelledPage).toContain(`Cancelled: ${settled}/${total} tenants settled`);
      expect(cancelledPage).not.toContain('value="100" max="100"');
      expect(cancelledPage).toMatch(/<strong>cancelled at \d+ %<\/strong>/);
      if (unstarted > 0)
        expect(cancelledPage).toContain(`${unstarted} tenant${unstarted === 1 ? '' : 's'} did not start.`);
      expect(cancelledPage).not.toContain('The run was cancelled before this tenant finished.');

      expect((await poll(run.id)).body).not.toContain('/actions/');
      // Nor does any confirmation page: it says why, with no form to send.
      for (const action of ['cancel', 'pause', 'resume', 'tune']) {
        const confirmation = await get(`/system/ops/runs/${run.id}/actions/${action}`);
        expect(confirmation.statusCode, action).toBe(409);
        expect(confirmation.body).toContain(`is already completed (cancelled); there is nothing to ${action}`);
        expect(confirmation.body).not.toContain('name="reason"');
      }
      const late = await act(run.id, 'pause', { reason: REASON });
      expect(late.statusCode).toBe(422);
      expect(late.body).toContain('is already completed (cancelled); there is nothing to pause');
    } finally {
      await restore();
    }
  });

  it('retries the failed tenants through a preflight and the confirmation, linked both ways, and exports the run as downloads', async () => {
    await unflagFindings(h.database.pool);
    const [first, second] = await tenantIds(h.database.pool);
    const restore = await failTenants(h.database.pool, [first!, second!], 'tenant is locked for the audit');
    let failedRunId: string;
    try {
      const { run } = await h.start({ kind: 'all_tenants' });
      expect(await waitForRun(h.database.pool, run.id)).toMatchObject({ outcome: 'partially_succeeded' });
      failedRunId = run.id;
    } finally {
      await restore();
    }

    const page = await get(`/system/ops/runs/${failedRunId}`);
    expect(page.body).toContain('Retry the 2 tenants that failed');
    const retry = await postRunbookForm('preflight', { _csrf: fieldOf(page.body, '_csrf'), retryOf: failedRunId });
    expect(retry.statusCode).toBe(200);
    expect(retry.body).toContain('in 2 tenants will change');
    const confirm = retry.body.slice(retry.body.indexOf('class="confirm"'));
    expect(fieldOf(confirm, 'retryOf')).toBe(failedRunId);
    const started = await postRunbookForm('start', {
      _csrf: fieldOf(confirm, '_csrf'),
      scope: fieldOf(confirm, 'scope'),
      tenant: fieldOf(confirm, 'tenant'),
      ...parametersOf(confirm),
      retryOf: failedRunId,
      preflightId: fieldOf(confirm, 'preflightId'),
      idempotencyKey: fieldOf(confirm, 'idempotencyKey'),
      reason: 'Retry the tenants that were locked',
    });
    expect(started.statusCode).toBe(303);
    const retryId = /runs\/([0-9a-f-]{36})/.exec(started.headers.location as string)![1]!;
    const retried = await waitForRun(h.database.pool, retryId);
    expect(retried).toMatchObject({ outcome: 'succeeded', retryOf: failedRunId, scopeKind: 'tenants' });
    expect(retried.scope).toMatchObject({ tenants: [{ id: first }, { id: second }] });
    expect((await get(`/system/ops/runs/${retryId}`)).body).toContain(
      `the failed tenants of <a href="/system/ops/runs/${failedRunId}">`,
    );
    expect((await get(`/system/ops/runs/${failedRunId}`)).body).toContain(
      `<dt>Retried by</dt><dd><a href="/system/ops/runs/${retryId}">`,
    );

    const csv = await get(`/system/ops/runs/${failedRunId}/export?format=csv`, viewer);
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toBe(`attachment; filename="run-${failedRunId}.csv"`);
    const rows = parseCsv(csv.body);
    expect(rows.filter((row) => row[0] === 'item')).toHaveLength(6);
    const json = await get(`/system/ops/runs/${failedRunId}/export?format=json`, viewer);
    expect(JSON.parse(json.body)).toMatchObject({ run: { id: failedRunId, outcome: 'partially_succeeded' } });
    expect((await get(`/system/ops/runs/${failedRunId}/export?format=xlsx`, viewer)).statusCode).toBe(400);
    // HEAD answers as GET would, without the body, and exports (and audits) nothing.
    const head = await app.inject({
      method: 'HEAD',
      url: `/system/ops/runs/${failedRunId}/export?format=csv`,
      headers: { cookie: cookieHeader(viewer.cookies) },
    });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-disposition']).toBe(`attachment; filename="run-${failedRunId}.csv"`);
    expect(head.body).toBe('');
    expect((await auditOf(failedRunId)).filter((event) => event.action === 'runbook.exported')).toHaveLength(2);
    // A one-tenant run (the retry, completed) offers no pause, resume or tune either.
    for (const action of ['pause', 'resume', 'tune'])
      expect((await get(`/system/ops/runs/${retryId}/actions/${action}`)).statusCode, action).toBe(409);
  });
});
