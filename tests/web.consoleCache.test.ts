import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashSessionToken } from '../src/auth/sessions.js';
import { CHANGE_FEED_APPLICATION_NAME } from '../src/db/changeFeed.js';
import { CAPABILITIES } from '../src/runbooks/capabilities.js';
import { consoleApp, createOperator, signIn } from './support/console.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';

/**
 * What the console keeps in memory (sessions, a run's poll, the runs list, unread counts) and
 * when it lets go, against PostgreSQL's own notifications. The tests write to the database as
 * another console process or the worker would; `caughtUp()` waits until this console has
 * heard every change committed before it. tests/db.readCache.test.ts has the cache's rules.
 */
describe('the console forgets what it keeps as soon as it hears of a change', () => {
  let database: TestDatabase;
  let app: FastifyInstance;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await consoleApp(database);
    await app.changeFeed.caughtUp();
  });

  afterAll(async () => {
    await app?.close();
    await database?.destroy();
  });

  const runsPage = (token: string, on = app) =>
    on.inject({ method: 'GET', url: '/system/ops/runs', headers: { cookie: `system_session=${token}` } });

  const setCapabilities = (id: number, capabilities: string[]) =>
    database.pool.query('UPDATE platform_users SET capabilities = $2 WHERE id = $1', [id, capabilities]);

  /** The same change, but nobody hears of it: what still shows afterwards was served from memory. */
  const setCapabilitiesUnheard = async (id: number, capabilities: string[]) => {
    await database.pool.query('ALTER TABLE platform_users DISABLE TRIGGER platform_users_console_change');
    try {
      await setCapabilities(id, capabilities);
    } finally {
      await database.pool.query('ALTER TABLE platform_users ENABLE TRIGGER platform_users_console_change');
    }
  };

  /** Taking a signed-in operator's capabilities: unheard, the session kept still admits them; heard, it no longer does. */
  const expectKeptUntilHeard = async (operatorId: number, token: string) => {
    await setCapabilitiesUnheard(operatorId, []);
    expect((await runsPage(token)).statusCode).toBe(200);
    await setCapabilities(operatorId, []);
    await app.changeFeed.caughtUp();
    expect((await runsPage(token)).statusCode).toBe(403);
  };

  it('keeps a session while nothing it read changed, and drops it once a change is heard', async () => {
    const operator = await createOperator(database, [CAPABILITIES.runsView]);
    const { cookies } = await signIn(app, operator);
    expect((await runsPage(cookies.system_session)).statusCode).toBe(200);
    await expectKeptUntilHeard(operator.id, cookies.system_session);
  });

  it('a sign-out in another console process ends the session here once this one has heard', async () => {
    const other = await consoleApp(database);
    try {
      const operator = await createOperator(database, [CAPABILITIES.runsView]);
      const { cookies, csrf } = await signIn(other, operator);
      expect((await runsPage(cookies.system_session)).statusCode).toBe(200);
      const out = await other.inject({
        method: 'POST',
        url: '/system/logout',
        payload: `_csrf=${encodeURIComponent(csrf)}`,
        headers: {
          cookie: `system_session=${cookies.system_session}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
      });
      expect(out.statusCode).toBe(303);
      await app.changeFeed.caughtUp();
      expect((await runsPage(cookies.system_session)).statusCode).toBe(303);
    } finally {
      await other.close();
    }
  });

  it('a session kept in memory still ends on time: its expiry needs no change to be heard', async () => {
    const { cookies } = await signIn(app, await createOperator(database, [CAPABILITIES.runsView]));
    const token = cookies.system_session;
    const tokenHash = [hashSessionToken(token)];
    // Two seconds left, heard: the next request loads the session and keeps it for what is left of its life.
    await database.pool.query(
      `UPDATE sessions SET expires_at = now() + interval '2 seconds' WHERE token_hash = $1`,
      tokenHash,
    );
    await app.changeFeed.caughtUp();
    expect((await runsPage(token)).statusCode).toBe(200);
    // Its expiry passes where nobody hears of it (only the lookup would see it): served from memory still.
    await database.pool.query('ALTER TABLE sessions DISABLE TRIGGER sessions_console_change');
    try {
      await database.pool.query(
        `UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1`,
        tokenHash,
      );
    } finally {
      await database.pool.query('ALTER TABLE sessions ENABLE TRIGGER sessions_console_change');
    }
    expect((await runsPage(token)).statusCode).toBe(200);
    // Three seconds later by the console's clock: past the session's life, short of the cache's 5 s TTL.
    const realNow = performance.now.bind(performance);
    const later = vi.spyOn(performance, 'now').mockImplementation(() => realNow() + 3_000);
    try {
      expect((await runsPage(token)).statusCode).toBe(303);
    } finally {
      later.mockRestore();
    }
  });

  it('keeps nothing while its feed is down, and keeps again once it is back on its own', async () => {
    const operator = await createOperator(database, [CAPABILITIES.runsView]);
    const { cookies } = await signIn(app, operator);
    expect((await runsPage(cookies.system_session)).statusCode).toBe(200);
    const { rowCount } = await database.pool.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1',
      [CHANGE_FEED_APPLICATION_NAME],
    );
    expect(rowCount).toBe(1);
    const deadline = Date.now() + 5_000;
    while (app.changeFeed.live && Date.now() < deadline) await sleep(5);
    expect(app.changeFeed.live).toBe(false);
    // Nothing is served from memory while it is down: a change nobody hears shows at once.
    expect((await runsPage(cookies.system_session)).statusCode).toBe(200);
    await setCapabilitiesUnheard(operator.id, []);
    expect((await runsPage(cookies.system_session)).statusCode).toBe(403);
    // Nor is what was read meanwhile kept for later: it may be stale by the time the feed is back.
    await setCapabilitiesUnheard(operator.id, [CAPABILITIES.runsView]);
    await app.changeFeed.caughtUp();
    expect((await runsPage(cookies.system_session)).statusCode).toBe(200);
    // Back (caughtUp waited for it), the console keeps sessions again.
    await expectKeptUntilHeard(operator.id, cookies.system_session);
  });

  it('whoever writes reads what they wrote: the answer to a POST leaves once the console has heard its own writes', async () => {
    const operator = await createOperator(database, [CAPABILITIES.runsView]);
    const { cookies, csrf } = await signIn(app, operator);
    await database.pool.query(
      `INSERT INTO notifications (platform_user_id, type, data) VALUES ($1, 'OperationRunCompleted', '{}')`,
      [operator.id],
    );
    await app.changeFeed.caughtUp();
    const cookie = `system_session=${cookies.system_session}`;
    const unread = async () =>
      (await app.inject({ method: 'GET', url: '/system/ops/runs', headers: { cookie } })).body.match(
        /data-unread-count="(\d+)"/,
      )?.[1];
    expect(await unread()).toBe('1');
    const marked = await app.inject({
      method: 'POST',
      url: '/system/notifications/read-all',
      payload: `_csrf=${encodeURIComponent(csrf)}`,
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(marked.statusCode).toBe(303);
    // Straight after the answer, with nothing in between to give the notification time.
    expect(await unread()).toBe('0');
  });

  it("the runs list and a run's poll follow the worker's writes, whatever case the URL spells the id in", async () => {
    const { cookies } = await signIn(app, await createOperator(database, [CAPABILITIES.runsView]));
    const cookie = `system_session=${cookies.system_session}`;
    const { rows } = await database.pool.query<{ tenantId: number; workspaceId: number; externalId: string }>(
      `WITH w AS (INSERT INTO workspaces (slug, name) VALUES ('cache-tenant', 'Cache tenant') RETURNING id)
       INSERT INTO tenants (workspace_id, external_id, name) SELECT id, 'cache-tenant', 'Cache tenant' FROM w
       RETURNING id::int AS "tenantId", workspace_id::int AS "workspaceId", external_id AS "externalId"`,
    );
    const tenant = rows[0]!;
    const insertRun = async (reason: string) => {
      const id = randomUUID();
      await database.pool.query(
        `INSERT INTO operation_runs (id, workspace_id, runbook, scope_kind, scope, status, source, initiator_label, reason, workflow_id, counts, started_at)
         VALUES ($1, $2, 'findings.lifecycle.rebuild', 'tenant', $3, 'running', 'cli', 'cli:ops', $4, $5, '{"tenants": 1, "examined": 0}', now())`,
        [
          id,
          tenant.workspaceId,
          JSON.stringify({ tenants: [{ id: tenant.tenantId, externalId: tenant.externalId }] }),
          reason,
          `wf-${id}`,
        ],
      );
      await database.pool.query(
        `INSERT INTO operation_run_items (run_id, tenant_id, status, counts) VALUES ($1, $2, 'running', '{"examined": 0}')`,
        [id, tenant.tenantId],
      );
      return id;
    };
    const list = async () => (await app.inject({ method: 'GET', url: '/system/ops/runs', headers: { cookie } })).body;
    const poll = async (id: string) =>
      (
        await app.inject({
          method: 'GET',
          url: `/system/ops/runs/${id}/progress`,
          headers: { cookie, 'hx-request': 'true' },
        })
      ).body;

    const first = await insertRun('First cached run');
    await app.changeFeed.caughtUp();
    expect(await list()).toContain('First cached run');
    const second = await insertRun('Second cached run');
    await app.changeFeed.caughtUp();
    expect(await list()).toContain('Second cached run');

    const shouted = first.toUpperCase();
    const before = await poll(shouted);
    expect(before).toContain('cache-tenant');
    expect(await poll(first)).toBe(before);
    await database.pool.query(`UPDATE operation_run_items SET counts = '{"examined": 4321}' WHERE run_id = $1`, [
      first,
    ]);
    await app.changeFeed.caughtUp();
    expect(await poll(shouted)).toContain('4,321');
    await database.pool.query(
      `UPDATE operation_runs SET status = 'completed', outcome = 'succeeded', completed_at = now() WHERE id = $1`,
      [first],
    );
    await app.changeFeed.caughtUp();
    expect(await poll(shouted)).toMatch(/status-completed outcome-succeeded">Succeeded</);
    expect(await poll(second)).not.toMatch(/Completed/);
  });
});
