import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { CAPABILITIES } from '../src/runbooks/capabilities.js';
import { consoleApp, cookieHeader, createOperator, signIn } from './support/console.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';

const HOSTILE = '<script>alert("x")</script>';

/** The runs a list page links, in its order. */
const runIdsOf = (html: string) =>
  [...html.matchAll(/<a href="\/system\/ops\/runs\/([0-9a-f-]{36})">/g)].map((match) => match[1]!);

describe('runs pages', () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  let cookie: string;
  let runIds: { old: string; hostile: string };

  const insertRun = async (fields: {
    tenantId: number;
    workspaceId: number;
    externalId: string;
    reason: string;
    status: string;
    outcome: string | null;
    createdAt: string;
  }) => {
    const id = randomUUID();
    await database.pool.query(
      `INSERT INTO operation_runs (id, workspace_id, runbook, scope_kind, scope, status, outcome, source, initiator_label, reason, workflow_id, created_at)
       VALUES ($1, $2, 'findings.lifecycle.rebuild', 'tenant', $3, $4, $5, 'cli', $6, $7, $8, $9)`,
      [
        id,
        fields.workspaceId,
        JSON.stringify({ tenants: [{ id: fields.tenantId, externalId: fields.externalId }] }),
        fields.status,
        fields.outcome,
        `cli:${HOSTILE}`,
        fields.reason,
        `wf-${id}`,
        fields.createdAt,
      ],
    );
    return id;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await consoleApp(database);
    const { rows } = await database.pool.query<{ tenantId: number; workspaceId: number }>(
      `WITH w AS (INSERT INTO workspaces (slug, name) VALUES ('hostile', $1) RETURNING id)
       INSERT INTO tenants (workspace_id, external_id, name) SELECT id, $1, $1 FROM w RETURNING id::int AS "tenantId", workspace_id::int AS "workspaceId"`,
      [HOSTILE],
    );
    const tenant = { ...rows[0]!, externalId: HOSTILE };
    runIds = {
      old: await insertRun({
        ...tenant,
        reason: 'An older run, long finished',
        status: 'completed',
        outcome: 'succeeded',
        createdAt: '2026-01-01T00:00:00Z',
      }),
      hostile: await insertRun({
        ...tenant,
        reason: `Backfill ${HOSTILE} now`,
        status: 'running',
        outcome: null,
        createdAt: '2026-06-01T00:00:00Z',
      }),
    };
    await database.pool.query(
      `INSERT INTO operation_run_items (run_id, tenant_id, status, counts, error) VALUES ($1, $2, 'failed', '{"examined": 5, "changed": 2}', $3)`,
      [runIds.hostile, tenant.tenantId, `trigger said ${HOSTILE}`],
    );
    await database.pool.query(
      `INSERT INTO audit_events (actor_kind, actor_label, action, target_kind, target_id) VALUES ('cli', $1, 'runbook.started', 'operation_run', $2)`,
      [HOSTILE, runIds.hostile],
    );
    cookie = cookieHeader((await signIn(app, await createOperator(database, [CAPABILITIES.runsView]))).cookies);
  });

  afterAll(async () => {
    await app?.close();
    await database?.destroy();
  });

  const get = (url: string) => app.inject({ method: 'GET', url, headers: { cookie } });

  it('lists runs newest first with status badges, everything from people escaped', async () => {
    const response = await get('/system/ops/runs');
    expect(response.statusCode).toBe(200);
    expect(response.body.indexOf(runIds.hostile)).toBeLessThan(response.body.indexOf(runIds.old));
    expect(response.body).toContain('status-running">Running');
    expect(response.body).toContain('status-completed outcome-succeeded">Succeeded');
    // The run is the row's link: its scope and short id; its initiator links the runs it started.
    expect(response.body).toContain(`<a href="/system/ops/runs/${runIds.old}">&lt;script&gt;`);
    expect(response.body).toContain(`<code>${runIds.old.slice(0, 8)}</code>`);
    expect(response.body).toContain('href="/system/ops/runs?initiator=cli%3A%3Cscript%3E');
    expect(response.body).not.toContain(HOSTILE);
    expect(response.body).toContain('&lt;script&gt;');
  });

  it('filters by every phase and outcome, and by initiator, each a URL to share', async () => {
    const { rows } = await database.pool.query<{ id: string; filter: string }>(
      `WITH t AS (SELECT id, workspace_id FROM tenants WHERE external_id = $1),
            made AS (
              INSERT INTO operation_runs (id, workspace_id, runbook, scope_kind, scope, status, outcome, source, initiator_label, reason,
                                          paused_at, cancel_requested_at)
              SELECT gen_random_uuid(), t.workspace_id, 'findings.lifecycle.rebuild', 'tenant', '{"tenants": []}', f.status, f.outcome, 'cli',
                     f.initiator, 'Filter ' || f.filter, f.paused_at, f.cancel_requested_at
                FROM t, (VALUES ('paused', 'running', NULL, now(), NULL::timestamptz, 'pauser@example.com'),
                                ('cancelling', 'running', NULL, now(), now(), 'cli:test'),
                                ('failed', 'completed', 'failed', NULL, NULL, 'cli:test'),
                                ('cancelled', 'completed', 'cancelled', NULL, NULL, 'cli:test'))
                       AS f(filter, status, outcome, paused_at, cancel_requested_at, initiator)
              RETURNING id, substring(reason FROM 8) AS filter)
       SELECT id, filter FROM made`,
      [HOSTILE],
    );
    const made = Object.fromEntries(rows.map((row) => [row.filter, row.id]));
    try {
      for (const [filter, id] of Object.entries(made)) {
        const page = await get(`/system/ops/runs?status=${filter}`);
        expect(page.statusCode, filter).toBe(200);
        expect(runIdsOf(page.body), filter).toEqual([id]);
        expect(page.body).toContain(`<option value="${filter}" selected>`);
      }
      // Paused and running are apart: one badge each.
      expect(runIdsOf((await get('/system/ops/runs?status=running')).body)).toEqual([runIds.hostile]);
      expect((await get('/system/ops/runs?status=paused')).body).toContain('status-paused">Paused');
      expect((await get('/system/ops/runs?status=cancelling')).body).toContain('status-cancelling">Cancelling');
      const mine = await get('/system/ops/runs?initiator=pauser%40example.com');
      expect(runIdsOf(mine.body)).toEqual([made.paused]);
      expect(mine.body).toContain('value="pauser@example.com"');
      expect(mine.body).toContain('href="/system/ops/runs">Clear filters');
    } finally {
      await database.pool.query('DELETE FROM operation_runs WHERE id = ANY($1::uuid[])', [Object.values(made)]);
    }
  });

  it('a run the health gates hold says what it waits for and since when, escaped, under its own badge and filter', async () => {
    const { rows } = await database.pool.query<{ id: string }>(
      `INSERT INTO operation_runs (id, workspace_id, runbook, scope_kind, scope, status, source, initiator_label, reason,
                                   started_at, held_since, held_reason, held_ms, settings)
       SELECT gen_random_uuid(), workspace_id, 'findings.lifecycle.rebuild', 'tenant', '{"tenants": []}', 'running', 'cli',
              'cli:test', 'A held run', now() - interval '60 seconds', now() - interval '14 seconds', $2, 3000,
              '{"batchSize": 250, "gates": {"enabled": true, "hold": {"replicaLagMs": 5000, "transactionAgeMs": 300000, "connectionsPercent": 80, "custom": null}, "critical": {"replicaLagMs": 60000, "transactionAgeMs": 1800000, "connectionsPercent": 95, "custom": null}, "lockTimeoutMs": 2000}}'
         FROM tenants WHERE external_id = $1
       RETURNING id`,
      [HOSTILE, `replica lag 12.4 s > 5 s ${HOSTILE}`],
    );
    const id = rows[0]!.id;
    try {
      expect(runIdsOf((await get('/system/ops/runs?status=held')).body)).toEqual([id]);
      expect((await get('/system/ops/runs?status=held')).body).toContain('status-held">Held');
      expect(runIdsOf((await get('/system/ops/runs?status=running')).body)).not.toContain(id);
      const live = await app.inject({
        method: 'GET',
        url: `/system/ops/runs/${id}/progress`,
        headers: { cookie, 'hx-request': 'true' },
      });
      expect(live.body).toContain(
        'Throttled: <span class="reason">replica lag 12.4 s &gt; 5 s &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</span>, since <time',
      );
      // 3 s of holds that ended and the 14 s of the one going on.
      expect(live.body).toMatch(/Held 1[78] s in all; it goes on by itself once the database is healthy again\./);
      expect(live.body).toContain(
        'Health gates: max-replica-lag 5 s, max-transaction-age 5 min, max-connections 80 %, max-custom none, ' +
          'critical-replica-lag 1 min, critical-transaction-age 30 min, critical-connections 95 %, critical-custom none, lock-timeout 2 s.',
      );
      expect(live.body).not.toContain(HOSTILE);
    } finally {
      await database.pool.query('DELETE FROM operation_runs WHERE id = $1', [id]);
    }
  });

  it('filters by status and runbook', async () => {
    const completed = await get('/system/ops/runs?status=completed');
    expect(completed.body).toContain(runIds.old);
    expect(completed.body).not.toContain(runIds.hostile);
    const any = await get('/system/ops/runs?status=&runbook=findings.lifecycle.rebuild');
    expect(any.body).toContain(runIds.old);
    expect(any.body).toContain(runIds.hostile);
  });

  it('a filter value that does not exist is a 400 naming the field and the allowed values', async () => {
    const status = await get('/system/ops/runs?status=%3Cscript%3E');
    expect(status.statusCode).toBe(400);
    expect(status.body).toContain(
      '<strong>status</strong> must be one of: queued, running, held, paused, cancelling, completed, succeeded, partially_succeeded, failed, cancelled (or empty, for any).',
    );
    const runbook = await get('/system/ops/runs?runbook=nope');
    expect(runbook.statusCode).toBe(400);
    expect(runbook.body).toContain('<strong>runbook</strong>');
    expect((await get('/system/ops/runs?status=queued&status=running')).statusCode).toBe(400);
  });

  it('shows a run: status, reason, initiator, items, audit, all escaped', async () => {
    const response = await get(`/system/ops/runs/${runIds.hostile.toUpperCase()}`);
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('status-running');
    expect(response.body).toContain('Backfill &lt;script&gt;');
    expect(response.body).toContain('trigger said &lt;script&gt;');
    expect(response.body).toContain('runbook.started');
    expect(response.body).not.toContain(HOSTILE);
    expect(response.body).toContain(`href="http://127.0.0.1:8233/namespaces/default/workflows/wf-${runIds.hostile}"`);
    expect(response.body).toContain(`href="/system/ops/runs/${runIds.hostile}/export?format=csv"`);
    // A viewer is offered no action.
    expect(response.body).not.toContain('/actions/');
  });

  it('links the workflow in the Temporal UI that TEMPORAL_UI_URL names, and refuses a value that is not an http(s) URL', async () => {
    const other = await consoleApp(
      database,
      {},
      { TEMPORAL_UI_URL: 'https://temporal.example.com/ui/', TEMPORAL_NAMESPACE: 'ops prod' },
    );
    try {
      const response = await other.inject({
        method: 'GET',
        url: `/system/ops/runs/${runIds.old}`,
        headers: { cookie },
      });
      expect(response.body).toContain(
        `href="https://temporal.example.com/ui/namespaces/ops%20prod/workflows/wf-${runIds.old}"`,
      );
    } finally {
      await other.close();
    }
    for (const value of ['javascript:alert(1)', 'not a url', 'ftp://example.com']) {
      expect(() => loadConfig({ TEMPORAL_UI_URL: value })).toThrow(
        /TEMPORAL_UI_URL must be an http:\/\/ or https:\/\/ URL/,
      );
    }
  });

  it('an id that is not a run id names no page, as an unknown one does: a 404', async () => {
    const malformed = await get('/system/ops/runs/not-a-uuid');
    expect(malformed.statusCode).toBe(404);
    expect(malformed.body).toContain('There is no page at this address.');
    expect((await get(`/system/ops/runs/${randomUUID()}`)).statusCode).toBe(404);
  });
});

describe('runs list pages and the live part of a run page', () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  let cookie: string;
  let ids: string[];

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await consoleApp(database);
    // 120 runs a second apart, and ten more sharing one timestamp (the id breaks the tie).
    const { rows } = await database.pool.query<{ id: string }>(
      `WITH w AS (INSERT INTO workspaces (slug, name) VALUES ('pages', 'pages') RETURNING id)
       INSERT INTO operation_runs (id, workspace_id, runbook, scope_kind, scope, status, outcome, source, initiator_label, reason, created_at)
       SELECT gen_random_uuid(), w.id, 'findings.lifecycle.rebuild', 'all_tenants', '{"tenants": []}', 'completed', 'succeeded', 'cli', 'cli:test',
              'Run number ' || n, CASE WHEN n <= 10 THEN timestamptz '2026-01-01 00:00:00.123456+00' ELSE timestamptz '2026-01-01' + n * interval '1 second' END
         FROM w, generate_series(1, 130) AS n
       RETURNING id`,
    );
    ids = rows.map((row) => row.id);
    cookie = cookieHeader((await signIn(app, await createOperator(database, [CAPABILITIES.runsView]))).cookies);
  });

  afterAll(async () => {
    await app?.close();
    await database?.destroy();
  });

  const get = (url: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url, headers: { cookie, ...headers } });
  const nextOf = (html: string) => /<a href="([^"]+)" rel="next">/.exec(html)?.[1]?.replace(/&amp;/g, '&') ?? null;

  it('pages by keyset: every run exactly once, newest first, ties broken by id, and a run added meanwhile shifts nothing', async () => {
    const seen: string[] = [];
    let url: string | null = '/system/ops/runs?status=completed';
    let pages = 0;
    while (url) {
      const response = await get(url);
      expect(response.statusCode).toBe(200);
      const page = runIdsOf(response.body);
      expect(page.length).toBeLessThanOrEqual(50);
      seen.push(...page);
      url = nextOf(response.body);
      if (url) expect(url).toContain('status=completed');
      if (pages === 0) {
        // A newer run after the first page is on no later page.
        await database.pool.query(
          `INSERT INTO operation_runs (id, workspace_id, runbook, scope_kind, scope, status, outcome, source, initiator_label, reason)
           SELECT gen_random_uuid(), workspace_id, runbook, scope_kind, scope, status, outcome, source, initiator_label, 'A newer run' FROM operation_runs LIMIT 1`,
        );
      }
      pages += 1;
    }
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(130);
    expect(seen.sort()).toEqual([...ids].sort());
    const { rows } = await database.pool.query<{ id: string }>(
      `SELECT id FROM operation_runs WHERE reason <> 'A newer run' ORDER BY created_at DESC, id DESC`,
    );
    const order: string[] = [];
    for (let next: string | null = '/system/ops/runs?status=completed'; next;) {
      const body: string = (await get(next)).body;
      order.push(...runIdsOf(body).filter((id) => ids.includes(id)));
      next = nextOf(body);
    }
    expect(order).toEqual(rows.map((row) => row.id));
  });

  it('an unknown cursor is an empty page with a way back; a malformed one a 400', async () => {
    const unknown = await get(`/system/ops/runs?before=${randomUUID()}`);
    expect(unknown.statusCode).toBe(200);
    expect(unknown.body).toContain('No runs match.');
    expect(unknown.body).toContain('>Newest</a>');
    expect((await get('/system/ops/runs?before=%27%3B%20DROP%20TABLE%20operation_runs')).statusCode).toBe(400);
  });

  it('the live part polls while a run is active, its rate by working time (paused time apart), and not once it is terminal', async () => {
    const [id] = ids;
    // Four tenants, 500 of the preflight's 1,000 findings examined; 13 s since the start, 8 s of them paused.
    const { rows } = await database.pool.query<{ id: string }>(
      `WITH p AS (INSERT INTO preflights (id, runbook, scope_kind, scope, report, content_hash, created_by)
                  VALUES (gen_random_uuid(), 'findings.lifecycle.rebuild', 'all_tenants', '{}', '{"inScope": 1000}', 'x', 'test') RETURNING id)
       UPDATE operation_runs SET status = 'running', outcome = NULL, preflight_id = p.id, started_at = now() - interval '13 seconds',
              paused_ms = 5000, paused_at = now() - interval '3 seconds', paused_by = 'op@example.com',
              settings = '{"parallelism": 4, "batchSize": 250}'
         FROM p WHERE operation_runs.id = $1 RETURNING operation_runs.id`,
      [id],
    );
    expect(rows).toHaveLength(1);
    await database.pool.query(
      `WITH w AS (SELECT id FROM workspaces WHERE slug = 'pages'),
            t AS (INSERT INTO tenants (workspace_id, external_id, name)
                  SELECT w.id, 'live-' || n, 'Live Tenant ' || n FROM w, generate_series(1, 4) AS n RETURNING id, external_id)
       INSERT INTO operation_run_items (run_id, tenant_id, status, counts)
       SELECT $1, t.id, s.status, s.counts::jsonb FROM t JOIN (VALUES
         ('live-1', 'succeeded', '{"examined": 300, "changed": 270, "batches": 2}'),
         ('live-2', 'running', '{"examined": 200, "changed": 180, "batches": 1}'),
         ('live-3', 'pending', '{}'), ('live-4', 'pending', '{}')) AS s(external_id, status, counts) USING (external_id)`,
      [id],
    );
    // Written as the worker would: the console drops what it kept of the run once it has heard.
    await app.changeFeed.caughtUp();
    const paused = await get(`/system/ops/runs/${id}/progress`, { 'hx-request': 'true' });
    expect(paused.statusCode).toBe(200);
    expect(paused.body).toContain('hx-trigger="every 1s"');
    // The figures are the items', the same read as the tenants table beside them.
    expect(paused.body).toContain('value="50" max="100"');
    expect(paused.body).toContain('<li><strong>4</strong> tenants</li>');
    expect(paused.body).toContain('<li><strong>1</strong> succeeded</li>');
    expect(paused.body).toContain('<li><strong>1</strong> running</li>');
    expect(paused.body).toContain('<li><strong>2</strong> pending</li>');
    expect(paused.body).toContain('<li><strong>500</strong> findings examined</li>');
    expect(paused.body).toContain('<code>live-1</code> <span class="tenant-name">Live Tenant 1</span>');
    expect(paused.body).toContain('Goes on with 4 tenants at once · batches of 250 rows.');
    // 500 findings in 5 s of work: the 8 s paused count for nothing, and a paused run promises no end.
    expect(paused.body).toMatch(/· (9\d|10\d) findings\/s · <span class="eta"[^>]*>ETA —<\/span>/);
    expect(paused.headers['hx-trigger']).toBeUndefined();

    await database.pool.query(
      `UPDATE operation_runs SET paused_at = NULL, paused_by = NULL, paused_ms = 8000 WHERE id = $1`,
      [id],
    );
    await app.changeFeed.caughtUp();
    // Just resumed: the same rate, and an honest estimate of the 500 findings left.
    const resumed = await get(`/system/ops/runs/${id}/progress`, { 'hx-request': 'true' });
    expect(resumed.body).toMatch(/· (9\d|10\d) findings\/s · <span class="eta"[^>]*>ETA about [45] s left<\/span>/);
    // Without htmx the same URL is a page of its own, and without JavaScript the run page reloads itself.
    expect((await get(`/system/ops/runs/${id}/progress`)).body).toContain('<!doctype html>');
    expect((await get(`/system/ops/runs/${id}`)).body).toContain(
      '<noscript><meta http-equiv="refresh" content="5"></noscript>',
    );

    await database.pool.query(
      `UPDATE operation_runs SET status = 'completed', outcome = 'succeeded', completed_at = started_at + interval '75 seconds' WHERE id = $1`,
      [id],
    );
    await app.changeFeed.caughtUp();
    const done = await get(`/system/ops/runs/${id}/progress`, { 'hx-request': 'true' });
    expect(done.body).not.toContain('hx-trigger=');
    expect(done.body).toContain('value="100" max="100"');
    expect(done.body).toContain('worked 1 min 7 s, paused 8 s');
    expect(done.headers['hx-trigger']).toBe('runCompleted');
    expect(done.body).toContain('<section id="run-tenants" hx-swap-oob="true">');
    expect((await get(`/system/ops/runs/${id}`)).body).not.toContain('http-equiv="refresh"');
  });
});

describe('runbooks page', () => {
  it('lists every runbook with its title and description', async () => {
    const database = await createTestDatabase();
    const app = await consoleApp(database);
    try {
      const { cookies } = await signIn(app, await createOperator(database, [CAPABILITIES.runbooksView]));
      const response = await app.inject({
        method: 'GET',
        url: '/system/ops/runbooks',
        headers: { cookie: cookieHeader(cookies) },
      });
      expect(response.statusCode).toBe(200);
      expect(response.body).toContain('Rebuild Findings Lifecycle');
      expect(response.body).toContain('findings.lifecycle.rebuild');
      // Without runs.view the header offers no Runs link.
      expect(response.body).not.toContain('href="/system/ops/runs"');
    } finally {
      await app.close();
      await database.destroy();
    }
  });
});
