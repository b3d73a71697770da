import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPABILITIES } from '../src/runbooks/capabilities.js';
import { consoleApp, cookieHeader, createOperator, signIn } from './support/console.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';

const HOSTILE = '<script>alert("x")</script>';

describe('runs pages', () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  let cookie: string;
  let runIds: { old: string; hostile: string };

  const insertRun = async (fields: { tenantId: number; workspaceId: number; externalId: string; reason: string; status: string; outcome: string | null; createdAt: string }) => {
    const id = randomUUID();
    await database.pool.query(
      `INSERT INTO operation_runs (id, workspace_id, runbook, scope_kind, scope, status, outcome, source, initiator_label, reason, workflow_id, created_at)
       VALUES ($1, $2, 'findings.lifecycle.rebuild', 'tenant', $3, $4, $5, 'cli', $6, $7, $8, $9)`,
      [id, fields.workspaceId, JSON.stringify({ tenants: [{ id: fields.tenantId, externalId: fields.externalId }] }), fields.status, fields.outcome, `cli:${HOSTILE}`, fields.reason, `wf-${id}`, fields.createdAt],
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
      old: await insertRun({ ...tenant, reason: 'An older run, long finished', status: 'completed', outcome: 'succeeded', createdAt: '2026-01-01T00:00:00Z' }),
      hostile: await insertRun({ ...tenant, reason: `Backfill ${HOSTILE} now`, status: 'running', outcome: null, createdAt: '2026-06-01T00:00:00Z' }),
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
    expect(response.body).toContain('Completed: succeeded');
    expect(response.body).not.toContain(HOSTILE);
    expect(response.body).toContain('&lt;script&gt;');
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
    expect(status.body).toContain('<strong>status</strong> must be one of: , queued, running, completed.');
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
  });

  it('an id that is not a run id is a 400; an unknown one a 404', async () => {
    const malformed = await get('/system/ops/runs/not-a-uuid');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.body).toContain('<strong>id</strong> must be a run id (a UUID).');
    expect((await get(`/system/ops/runs/${randomUUID()}`)).statusCode).toBe(404);
  });
});

describe('runbooks page', () => {
  it('lists every runbook with its title and description', async () => {
    const database = await createTestDatabase();
    const app = await consoleApp(database);
    try {
      const { cookies } = await signIn(app, await createOperator(database, [CAPABILITIES.runbooksView]));
      const response = await app.inject({ method: 'GET', url: '/system/ops/runbooks', headers: { cookie: cookieHeader(cookies) } });
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
