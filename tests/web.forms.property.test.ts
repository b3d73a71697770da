import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_CAPABILITIES } from '../src/runbooks/capabilities.js';
import { tuneRun } from '../src/runbooks/control.js';
import { UnavailableError } from '../src/errors.js';
import { RunbookRefusal } from '../src/runbooks/refusal.js';
import { ALL_TENANTS_PHRASE } from '../src/runbooks/model.js';
import { runPreflight } from '../src/runbooks/preflight.js';
import { getRunbook } from '../src/runbooks/registry.js';
import { startRunbook } from '../src/runbooks/start.js';
import { createChangeWindow } from '../src/runbooks/windows/changeWindows.js';
import { buildApp } from '../src/web/app.js';
import { PLANE_COOKIES, planeOf } from '../src/web/planes.js';
import { createSession } from '../src/auth/sessions.js';
import { cookieHeader, createCustomer, createOperator, csrfTokenOf } from './support/console.js';
import { FLAG_PARAMETERS, LIFECYCLE, RUNBOOK, useRunbookHarness } from './support/harness.js';

/**
 * Every form of both planes, posted with random field values: no answer is a 5xx, and a form
 * that is refused (4xx) writes nothing but its refusal's audit event. The table below must
 * name every POST route the app registers, so a new form cannot be left out.
 */

type Values = fc.Arbitrary<string>;

/** What a person (or an attacker) might type: any text, control characters, long text, near-misses. */
const anyText: Values = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 600 }),
  fc.string({ unit: 'grapheme', minLength: 10, maxLength: 520 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '<script>alert(1)</script>',
    '=cmd|"/c calc"!A0',
    "'; DROP TABLE operation_runs; --",
    'x'.repeat(5000),
  ),
);
const numberText: Values = fc.oneof(
  fc.integer({ min: -5, max: 70_000 }).map(String),
  fc.constantFrom('', '1e3', '0x10', ' 7 ', '99999999999'),
  anyText,
);

describe('every form, posted with random values', () => {
  const h = useRunbookHarness({ seed: { tenants: 3, findingsPerTenant: 20, seed: 5 }, worker: false });
  let app: FastifyInstance;
  let operator: { id: number; email: string; password: string };
  let customer: { id: number; email: string; password: string };
  const sessions: Record<'system' | 'admin', { cookies: Record<string, string>; csrf: string } | null> = {
    system: null,
    admin: null,
  };
  let ids: {
    run: string;
    preflight: string;
    notification: string;
    change: string;
    window: string;
    tenants: string[];
  };

  beforeAll(async () => {
    // The legacy trigger is a form too, when it is on.
    app = await buildApp({
      config: { ...h.config, adminMaintenanceTrigger: true },
      database: h.database,
      temporal: h.client,
    });
    operator = await createOperator(h.database, ALL_CAPABILITIES);
    customer = await createCustomer(h.database);
    const { pool } = h.database;
    const tenants = (
      await pool.query<{ externalId: string }>(
        `SELECT external_id AS "externalId" FROM tenants WHERE external_id <> 'platform' ORDER BY id`,
      )
    ).rows;
    // A queued run to act on (no worker polls this queue) and a notification to read.
    const { run, preflight } = await h.start({ kind: 'all_tenants' });
    const notification = await pool.query<{ id: string }>(
      `INSERT INTO notifications (platform_user_id, type, data) VALUES ($1, 'OperationRunCompleted', $2) RETURNING id::text`,
      [operator.id, JSON.stringify({ runId: run.id, outcome: 'succeeded' })],
    );
    // A change request another operator filed, open to decide on (its run would overlap the queued one).
    const filed = await startRunbook(
      {
        pool,
        launcher: h.launcher,
        approvals: { policy: { when: 'all_tenants', approvals: 1 }, ttlMs: 3_600_000 },
      },
      {
        runbook: RUNBOOK,
        scope: { kind: 'all_tenants' },
        parameters: FLAG_PARAMETERS,
        initiator: h.operator,
        reason: 'A change request for the forms to decide on',
        source: 'system_ui',
        confirmation: ALL_TENANTS_PHRASE,
        preflightId: (
          await runPreflight(pool, {
            runbook: getRunbook(RUNBOOK),
            scope: { kind: 'all_tenants' },
            parameters: FLAG_PARAMETERS,
            initiator: h.operator,
          })
        ).id,
      },
    );
    if (!('changeRequest' in filed)) throw new Error('the start filed no change request');
    // A change window to delete: a freeze of a night a year from now, which no run here meets.
    const window = await createChangeWindow(pool, {
      initiator: h.operator,
      window: {
        kind: 'deny',
        schedule: `${new Date().getUTCFullYear() + 1}-06-01T00:00:00`,
        durationMinutes: 60,
        timeZone: 'UTC',
        description: 'A window for the forms to delete',
      },
    });
    ids = {
      run: run.id,
      preflight: preflight.id,
      notification: notification.rows[0]!.id,
      change: filed.changeRequest.id,
      window: String(window.id),
      tenants: tenants.map((t) => t.externalId),
    };
  });
  afterAll(async () => {
    await app?.close();
  });

  /**
   * A signed-in session of the plane, made again when a random logout ended it: straight in the
   * table, since the sign-in form is under test (and its throttle) too. Its CSRF token comes from
   * the sign-in page, which a signed-in visitor gets with the session's own.
   */
  const sessionOf = async (plane: 'system' | 'admin') => {
    if (!sessions[plane]) {
      const { token } = await createSession(
        h.database.pool,
        plane === 'system' ? { plane, platformUserId: operator.id } : { plane, userId: customer.id },
      );
      const cookies = { [PLANE_COOKIES[plane].name]: token };
      const page = await app.inject({
        method: 'GET',
        url: `${PLANE_COOKIES[plane].path}/login`,
        headers: { cookie: cookieHeader(cookies) },
      });
      sessions[plane] = { cookies, csrf: csrfTokenOf(page.body) };
    }
    return sessions[plane];
  };

  /** What a refused form must leave as it was: every table a form can write, and the run's state. */
  const state = async () =>
    (
      await h.database.pool.query(`
        SELECT (SELECT count(*) FROM operation_runs) AS runs,
               (SELECT count(*) FROM operation_run_items) AS items,
               (SELECT count(*) FROM preflights) AS preflights,
               (SELECT count(*) FROM sessions) AS sessions,
               (SELECT count(*) FROM notifications WHERE read_at IS NULL) AS unread,
               (SELECT count(*) FROM platform_users) + (SELECT count(*) FROM users) AS accounts,
               (SELECT string_agg(id || status || coalesce(paused_by, '') || coalesce(pause_reason, ''), ',' ORDER BY id) FROM operation_runs) AS run_state,
               (SELECT string_agg(id || status, ',' ORDER BY id) FROM change_requests) AS change_state,
               (SELECT count(*) FROM change_approvals) AS decisions,
               (SELECT string_agg(id::text, ',' ORDER BY id) FROM change_windows) AS windows`)
    ).rows[0];

  const csrf = (token: string) =>
    fc.oneof({ weight: 4, arbitrary: fc.constant(token) }, { weight: 1, arbitrary: anyText });

  /** The test runbook's parameters (tests/support/flagRunbook.ts), as its preflight and start forms take them. */
  const parameterFields: Record<string, Values> = {
    'p.olderThanDays': numberText,
    'p.severities': fc.oneof(fc.constantFrom('critical', 'high', 'medium', 'low', 'high,low'), anyText),
    'p.note': anyText,
  };

  /** Each form's fields; a field is sent or left out, once or twice (duplicated). */
  const FORMS: Record<string, (token: string) => Record<string, Values>> = {
    'POST /system/login': (token) => ({
      _csrf: csrf(token),
      email: fc.oneof(anyText, fc.constant(operator.email)),
      password: anyText,
      next: anyText,
    }),
    'POST /system/logout': (token) => ({ _csrf: csrf(token) }),
    'POST /system/ops/runbooks/:runbook/preflight': (token) => ({
      _csrf: csrf(token),
      scope: fc.oneof(fc.constantFrom('tenant', 'all_tenants'), anyText),
      tenant: fc.oneof(fc.constantFrom(...ids.tenants, 'platform'), anyText),
      retryOf: fc.oneof(fc.constant(ids.run), fc.uuid(), anyText),
      ...parameterFields,
    }),
    'POST /system/ops/runbooks/:runbook/start': (token) => ({
      _csrf: csrf(token),
      scope: fc.oneof(fc.constantFrom('tenant', 'all_tenants'), anyText),
      tenant: fc.oneof(fc.constantFrom(...ids.tenants), anyText),
      retryOf: fc.oneof(fc.constant(ids.run), anyText),
      preflightId: fc.oneof(fc.constant(ids.preflight), fc.uuid(), anyText),
      idempotencyKey: fc.oneof(fc.uuid(), anyText),
      reason: anyText,
      confirmation: fc.oneof(fc.constantFrom('ALL TENANTS', 'all tenants'), anyText),
      maxFailedTenants: numberText,
      maxFailedPercent: numberText,
      canary: fc.oneof(fc.constant('on'), anyText),
      canaryCount: numberText,
      canaryTenants: fc.oneof(fc.constantFrom(...ids.tenants), anyText),
      ...parameterFields,
    }),
    'POST /system/ops/runs/:id/actions/:action': (token) => ({
      _csrf: csrf(token),
      reason: anyText,
      parallelism: numberText,
      batchSize: fc.oneof(fc.constant('auto'), numberText),
      batchTarget: fc.oneof(fc.constantFrom('1s', '50ms', '2m'), anyText),
    }),
    // The switch for every run: the phrase (sometimes right, so that a stop and a lift go through too) and a reason.
    'POST /system/ops/runs/stop-all': (token) => ({
      _csrf: csrf(token),
      confirmation: fc.oneof(fc.constantFrom('STOP ALL RUNS', 'stop all runs'), anyText),
      reason: fc.oneof(fc.constant('The primary is failing over'), anyText),
    }),
    'POST /system/ops/runs/resume-all': (token) => ({
      _csrf: csrf(token),
      reason: fc.oneof(fc.constant('The failover is over'), anyText),
    }),
    // A change request's decisions: a comment (sometimes one the core takes, so that one goes through).
    ...Object.fromEntries(
      ['approve', 'reject', 'withdraw'].map((action) => [
        `POST /system/ops/changes/:id/${action}`,
        (token: string) => ({
          _csrf: csrf(token),
          comment: fc.oneof(fc.constant('Checked the preflight numbers'), anyText),
        }),
      ]),
    ),
    // A change window: its fields, sometimes all ones the engine takes (a one-off freeze a year
    // ahead, which no run here meets), so that a definition goes through too.
    'POST /system/ops/windows': (token) => ({
      _csrf: csrf(token),
      kind: fc.oneof(fc.constantFrom('allow', 'deny'), anyText),
      schedule: fc.oneof(fc.constantFrom(`${new Date().getUTCFullYear() + 1}-07-01T00:00:00`, '61 * * * *'), anyText),
      duration: fc.oneof(fc.constantFrom('90', '4h', '1d', '8d', '-5m'), numberText),
      timeZone: fc.oneof(fc.constantFrom('UTC', 'Europe/Berlin', 'Mars/Olympus'), anyText),
      cutoff: fc.oneof(fc.constantFrom('', '30m', '2d'), numberText),
      runbooks: fc.oneof(fc.constantFrom(RUNBOOK, LIFECYCLE, 'no.such.runbook'), anyText),
      description: fc.oneof(fc.constant('A freeze for the forms test'), anyText),
    }),
    'POST /system/ops/windows/:window/delete': (token) => ({ _csrf: csrf(token) }),
    'POST /system/notifications/:id/read': (token) => ({ _csrf: csrf(token) }),
    'POST /system/notifications/read-all': (token) => ({ _csrf: csrf(token) }),
    'POST /admin/login': (token) => ({
      _csrf: csrf(token),
      email: fc.oneof(anyText, fc.constant(customer.email)),
      password: anyText,
      next: anyText,
    }),
    'POST /admin/logout': (token) => ({ _csrf: csrf(token) }),
    'POST /admin/maintenance/findings-lifecycle': (token) => ({
      _csrf: csrf(token),
      idempotencyKey: fc.oneof(fc.uuid(), anyText),
      tenant: anyText,
    }),
  };

  /** Path parameters: the real ones, near-misses and hostile ones. */
  const PARAMS: Record<string, Values> = {
    // The engine tests' runbook (with parameters) and a catalog runbook without any.
    runbook: fc.constantFrom(RUNBOOK, LIFECYCLE, 'findings-lifecycle', '%3Cscript%3E', 'x'.repeat(300)),
    id: fc
      .oneof(fc.constant(''), fc.uuid(), fc.constantFrom('not-a-uuid', '1%00', '-1'))
      .chain((id) => (id === '' ? fc.constantFrom(ids.run, ids.notification, ids.change) : fc.constant(id))),
    action: fc.constantFrom('cancel', 'pause', 'resume', 'tune', 'explode'),
    window: fc
      .oneof(fc.constant(''), fc.constantFrom('0', '999999', '-1', '1.5', 'abc', '9'.repeat(20)))
      .chain((id) => (id === '' ? fc.constant(ids.window) : fc.constant(id))),
  };

  it('the table names every form the app has', () => {
    const posts = app.consoleRoutes.filter((route) => route.method === 'POST').map((route) => `POST ${route.url}`);
    expect(new Set(posts)).toEqual(new Set(Object.keys(FORMS)));
  });

  for (const form of Object.keys(FORMS)) {
    it(`${form}: never a 5xx, and a refusal writes nothing`, async () => {
      const url = form.slice('POST '.length);
      const plane = planeOf(url)!;
      const names = [...url.matchAll(/:(\w+)/g)].map((match) => match[1]!);
      const param = fc.record(Object.fromEntries(names.map((name) => [name, PARAMS[name]!])));
      await fc.assert(
        fc.asyncProperty(
          param,
          fc.constant(null).chain(() => {
            const fields = FORMS[form]!('');
            return fc.record(
              Object.fromEntries(
                Object.entries(fields).map(([name, values]) => [
                  name,
                  fc.option(
                    fc.oneof(
                      values.map((v) => [v]),
                      fc.tuple(values, values),
                    ),
                    { nil: undefined },
                  ),
                ]),
              ),
              { requiredKeys: [] },
            );
          }),
          fc.boolean(),
          async (params, fields, asHtmx) => {
            const session = await sessionOf(plane);
            const path = url.replace(/:(\w+)/g, (_, name: string) =>
              encodeURIComponent((params as Record<string, string>)[name]!),
            );
            const body = new URLSearchParams();
            for (const [name, values] of Object.entries(fields)) {
              // A valid token where the generator chose the token field's "valid" value ('').
              for (const value of values ?? [])
                body.append(name, name === '_csrf' && value === '' ? session.csrf : value);
            }
            const before = await state();
            const response = await app.inject({
              method: 'POST',
              url: path,
              headers: {
                cookie: cookieHeader(session.cookies),
                'content-type': 'application/x-www-form-urlencoded',
                ...(asHtmx ? { 'hx-request': 'true' } : {}),
              },
              payload: body.toString(),
            });
            expect(response.statusCode, response.body.slice(0, 500)).toBeLessThan(500);
            expect(response.body).not.toMatch(/at .+\.ts:\d+|\[object Object\]/);
            if (response.statusCode >= 400) expect(await state()).toEqual(before);
            // A signed-out session (a logout that went through) is signed in again for the next try.
            if (response.cookies.some((cookie) => cookie.name === PLANE_COOKIES[plane].name && cookie.value === ''))
              sessions[plane] = null;
          },
        ),
        { numRuns: 40 },
      );
    });
  }

  it('tuning a queued run is refused at once, not left waiting for a worker to answer', async () => {
    const refusal = await tuneRun(
      { pool: h.database.pool, launcher: h.launcher },
      {
        runId: ids.run,
        initiator: h.operator,
        source: 'cli',
        parallelism: 4,
        reason: 'Faster before it even starts',
      },
    ).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(RunbookRefusal);
    expect(refusal).toMatchObject({
      code: 'not_started',
      message: `Run ${ids.run} is still queued; tune it once a worker has started it.`,
    });
  });

  it('tuning a running run that no worker answers says so after a while, instead of waiting for ever', async () => {
    // This file runs no worker: a run marked running has nobody to answer the update.
    await h.database.pool.query(
      `UPDATE operation_runs SET status = 'running', outcome = NULL, started_at = now() WHERE id = $1`,
      [ids.run],
    );
    const error = await tuneRun(
      { pool: h.database.pool, launcher: h.launcher, answerWithinMs: 1_000 },
      {
        runId: ids.run,
        initiator: h.operator,
        source: 'cli',
        batchSize: 500,
        reason: 'Smaller batches for the night',
      },
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toMatch(
      /^No worker answered the tune of run \S+ within 1 s; is a worker running\?/,
    );
    expect(
      (await h.database.pool.query(`SELECT count(*)::int AS n FROM audit_events WHERE action = 'runbook.tuned'`))
        .rows[0].n,
    ).toBe(0);
  });

  it('a JSON body and a body of another type are refused with a page, never a 5xx', async () => {
    const session = await sessionOf('system');
    for (const [type, payload] of [
      ['application/json', JSON.stringify({ _csrf: session.csrf, scope: 'all_tenants' })],
      ['text/plain', 'scope=all_tenants'],
      ['application/x-www-form-urlencoded', Buffer.from([0x73, 0x63, 0x6f, 0x70, 0x65, 0x3d, 0xff, 0xfe])],
    ] as const) {
      const response = await app.inject({
        method: 'POST',
        url: `/system/ops/runbooks/${RUNBOOK}/preflight`,
        headers: { cookie: cookieHeader(session.cookies), 'content-type': type },
        payload,
      });
      expect(response.statusCode, `${type}: ${response.body.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
      expect(response.statusCode).toBeLessThan(500);
      expect(response.headers['content-type']).toContain('text/html');
    }
  });
});
