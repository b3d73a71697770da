import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession } from '../src/auth/sessions.js';
import { CAPABILITIES } from '../src/runbooks/capabilities.js';
import { consoleApp, cookieHeader, createOperator, postForm, signIn } from './support/console.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';

const HOSTILE = '<script>alert("x")</script>';
const RUNBOOK = 'findings.lifecycle.rebuild';

type Session = Awaited<ReturnType<typeof signIn>>;

/** The header's count as a browser test reads it, or null when the page shows none. */
/** A succeeded all-tenants run that `initiator` started, in a workspace of its own; its id. */
async function insertCompletedRun(database: TestDatabase, initiator: { id: number; email: string }): Promise<string> {
  const runId = randomUUID();
  await database.pool.query(
    `WITH w AS (INSERT INTO workspaces (slug, name) VALUES ('platform-ws', 'Platform') RETURNING id)
     INSERT INTO operation_runs (id, workspace_id, runbook, scope_kind, scope, status, outcome, source,
                                 initiator_platform_user_id, initiator_label, reason)
     SELECT $1, id, $2, 'all_tenants', '{"allTenants": true}', 'completed', 'succeeded', 'system_ui', $3, $4,
            'Backfill after the rules change'
       FROM w`,
    [runId, RUNBOOK, initiator.id, initiator.email],
  );
  return runId;
}

const headerCount = (html: string) => {
  const match = html.match(/data-unread-count="(\d+)"/);
  return match ? Number(match[1]) : null;
};

// The run code that writes notifications is tested with the runs; here the rows are written directly.
describe('notifications', () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  let alice: Session;
  let bob: Session;
  let carol: Session;
  let carolId: number;
  let runId: string;
  let ids: { succeeded: number; paused: number; hostile: number; bobs: number };

  const insertNotification = async (platformUserId: number, type: string, data: Record<string, unknown>) => {
    const { rows } = await database.pool.query<{ id: number }>(
      'INSERT INTO notifications (platform_user_id, type, data) VALUES ($1, $2, $3) RETURNING id::int',
      [platformUserId, type, JSON.stringify(data)],
    );
    return rows[0]!.id;
  };

  /** Each notification's read time by id (null: unread). */
  const readTimes = async () => {
    const { rows } = await database.pool.query<{ id: number; readAt: Date | null }>(
      'SELECT id::int, read_at AS "readAt" FROM notifications',
    );
    return new Map(rows.map((row) => [row.id, row.readAt?.toISOString() ?? null]));
  };

  const get = (url: string, as: Pick<Session, 'cookies'> | null, headers: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url, headers: { ...(as ? { cookie: cookieHeader(as.cookies) } : {}), ...headers } });

  /** A form post as `as` (null: signed out), with that session's CSRF token unless other fields are given. */
  const post = (
    url: string,
    as: Session | null,
    fields: Record<string, string> = as ? { _csrf: as.csrf } : {},
    headers = {},
  ) => postForm(app, url, fields, { cookies: as?.cookies, headers });

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await consoleApp(database);
    const [a, b, c] = await Promise.all([
      createOperator(database, [CAPABILITIES.runsView]),
      createOperator(database, [CAPABILITIES.runsView]),
      createOperator(database, []),
    ]);
    carolId = c.id;
    runId = await insertCompletedRun(database, a);
    // Oldest first, so ids order them.
    ids = {
      paused: await insertNotification(a.id, 'OperationRunPaused', {
        runId,
        runbook: RUNBOOK,
        reason: 'canary done: 2 succeeded, 0 failed',
      }),
      succeeded: await insertNotification(a.id, 'OperationRunCompleted', {
        runId,
        runbook: RUNBOOK,
        outcome: 'succeeded',
        counts: {},
      }),
      hostile: await insertNotification(a.id, 'OperationRunPaused', {
        runId: HOSTILE,
        runbook: HOSTILE,
        reason: `budget ${HOSTILE}`,
      }),
      bobs: await insertNotification(b.id, 'OperationRunCompleted', {
        runId,
        runbook: RUNBOOK,
        outcome: 'partially_succeeded',
        counts: { tenantsSucceeded: 8, tenantsFailed: 2 },
      }),
    };
    await database.pool.query(
      `INSERT INTO notifications (platform_user_id, type, data, read_at)
       SELECT $1, 'OperationRunCompleted', jsonb_build_object('runId', 'gone-' || g, 'outcome', 'failed'), CASE WHEN g % 2 = 0 THEN now() END
         FROM generate_series(1, 55) g`,
      [c.id],
    );
    [alice, bob, carol] = await Promise.all([signIn(app, a), signIn(app, b), signIn(app, c)]);
  });

  afterAll(async () => {
    await app?.close();
    await database?.destroy();
  });

  it('lists only the operator’s own notifications, newest first, unread marked, in words, linked to open them', async () => {
    const response = await get('/system/notifications', alice);
    expect(response.statusCode).toBe(200);
    const html = response.body;
    expect(html).toContain(
      `<a href="/system/notifications/${ids.succeeded}/open">Rebuild Findings Lifecycle on all tenants succeeded</a>`,
    );
    expect(html).toContain(
      `<a href="/system/notifications/${ids.paused}/open">Rebuild Findings Lifecycle on all tenants paused itself: canary done: 2 succeeded, 0 failed</a>`,
    );
    expect(html.indexOf(`/system/notifications/${ids.succeeded}/read`)).toBeLessThan(
      html.indexOf(`/system/notifications/${ids.paused}/read`),
    );
    expect(html.match(/class="badge">Unread</g)).toHaveLength(3);
    expect(html).not.toContain('partially succeeded');
    expect(html).not.toContain(`/system/notifications/${ids.bobs}/read`);

    const bobs = await get('/system/notifications', bob);
    expect(bobs.body).toContain(
      'Rebuild Findings Lifecycle on all tenants partially succeeded: 8 tenants succeeded, 2 failed',
    );
    expect(bobs.body).not.toContain('canary done');
  });

  it('shows what a notification’s data says escaped, and no link when it names no run', async () => {
    const { body } = await get('/system/notifications', alice);
    expect(body).not.toContain(HOSTILE);
    expect(body).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; paused itself: budget &lt;script&gt;');
    expect(body).not.toContain('/system/ops/runs/&lt;');
    expect(body).not.toContain(`/system/notifications/${ids.hostile}/open`);
  });

  it('shows the operator’s own unread count in the header of every page, polled by htmx', async () => {
    const runs = await get('/system/ops/runs', alice);
    expect(runs.statusCode).toBe(200);
    expect(headerCount(runs.body)).toBe(3);
    expect(runs.body.replace(/<[^>]+>/g, '')).toMatch(/Notifications \(3\)/);
    expect(runs.body).toContain('hx-get="/system/notifications/count" hx-trigger="every 10s, runCompleted from:body');
    expect(headerCount((await get('/system/ops/runs', bob)).body)).toBe(1);
    // A page without the capability (403) and an unknown one (404) carry it too.
    expect(headerCount((await get('/system/ops/runs', carol)).body)).toBe(28);
    expect(headerCount((await get('/system/nowhere', alice)).body)).toBe(3);

    const partial = await get('/system/notifications/count', alice, { 'hx-request': 'true' });
    expect(partial.statusCode).toBe(200);
    expect(partial.body).not.toContain('<html');
    expect(partial.body.trim()).toMatch(/^<li id="notifications-nav"/);
    expect(headerCount(partial.body)).toBe(3);
    expect((await get('/system/notifications/count', alice)).body).toContain('3 unread notifications');
  });

  it('pages back by id, 50 at a time, without repeating a row', async () => {
    const first = await get('/system/notifications', carol);
    const older = first.body.match(/href="(\/system\/notifications\?before=(\d+))"/);
    expect(older).not.toBeNull();
    const second = await get(older![1]!, carol);
    const itemsOf = (html: string) => html.match(/<time datetime/g)?.length ?? 0;
    expect(itemsOf(first.body)).toBe(50);
    expect(itemsOf(second.body)).toBe(5);
    expect(second.body).not.toMatch(/href="\/system\/notifications\?before=/);
    expect(second.body).toContain('href="/system/notifications">Newest');
    const { rows } = await database.pool.query<{ id: number }>(
      'SELECT id::int FROM notifications WHERE platform_user_id = $1 ORDER BY id DESC',
      [carolId],
    );
    // The cursor is the last row shown: the second page starts right after it.
    expect(Number(older![2])).toBe(rows[49]!.id);
    expect(second.body).toContain(`/system/notifications/${rows[50]!.id}/read`);
  });

  it('refuses a mark without the CSRF token (403) and writes nothing', async () => {
    const before = await readTimes();
    expect((await post(`/system/notifications/${ids.paused}/read`, alice, {})).statusCode).toBe(403);
    expect((await post('/system/notifications/read-all', alice, { _csrf: bob.csrf })).statusCode).toBe(403);
    expect(await readTimes()).toEqual(before);
  });

  it('answers another operator’s notification (and an unknown one) with 404, never a write', async () => {
    const before = await readTimes();
    const response = await post(`/system/notifications/${ids.bobs}/read`, alice);
    expect(response.statusCode).toBe(404);
    expect(response.body).toContain('There is no page at this address.');
    expect((await post('/system/notifications/999999999/read', alice)).statusCode).toBe(404);
    expect((await post(`/system/notifications/${randomUUID()}/read`, alice)).statusCode).toBe(404);
    expect(await readTimes()).toEqual(before);
  });

  it('marks one read, only that one, and again changes nothing', async () => {
    const response = await post(`/system/notifications/${ids.paused}/read`, alice);
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/system/notifications');
    const after = await readTimes();
    expect(after.get(ids.paused)).not.toBeNull();
    expect([after.get(ids.succeeded), after.get(ids.hostile), after.get(ids.bobs)]).toEqual([null, null, null]);

    expect((await post(`/system/notifications/${ids.paused}/read?before=${ids.hostile}`, alice)).headers.location).toBe(
      `/system/notifications?before=${ids.hostile}`,
    );
    expect(await readTimes()).toEqual(after);
    const page = await get('/system/notifications', alice);
    expect(headerCount(page.body)).toBe(2);
    expect(page.body.match(/class="badge">Unread</g)).toHaveLength(2);
  });

  it('marks all of the operator’s own read (htmx: the list partial, and the header told to refresh)', async () => {
    const response = await post(
      '/system/notifications/read-all',
      alice,
      { _csrf: alice.csrf },
      { 'hx-request': 'true' },
    );
    expect(response.statusCode).toBe(200);
    expect(response.headers['hx-trigger']).toBe('notificationsRead');
    expect(response.body).not.toContain('<html');
    expect(response.body).toContain('<section id="notifications"');
    expect(response.body).not.toContain('Unread');
    expect(response.body).not.toContain('Mark all read');
    const after = await readTimes();
    expect([ids.paused, ids.succeeded, ids.hostile].map((id) => after.get(id))).not.toContain(null);
    expect(after.get(ids.bobs)).toBeNull();
    expect(headerCount((await get('/system/ops/runs', alice)).body)).toBe(0);
    expect(headerCount((await get('/system/ops/runs', bob)).body)).toBe(1);
  });

  it('sends a signed-out visitor to sign in and writes nothing for them', async () => {
    const page = await get('/system/notifications', null);
    expect(page.statusCode).toBe(303);
    expect(page.headers.location).toBe('/system/login?next=%2Fsystem%2Fnotifications');
    const before = await readTimes();
    const mark = await post(`/system/notifications/${ids.bobs}/read`, null);
    expect(mark.statusCode).toBe(303);
    expect(mark.headers.location).toBe('/system/login');
    expect(await readTimes()).toEqual(before);
  });

  it('renders the page without the count when it cannot be read, never an error', async () => {
    // A session this console has never seen, so it holds no count for it (one it held would
    // still be right: nothing changed).
    const carol = await createOperator(database, [CAPABILITIES.runsView]);
    const { token } = await createSession(database.pool, { plane: 'system', platformUserId: carol.id });
    await database.pool.query('ALTER TABLE notifications RENAME TO notifications_away');
    try {
      const page = await get('/system/ops/runs', { cookies: { system_session: token } });
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('href="/system/notifications">Notifications</a>');
      expect(headerCount(page.body)).toBeNull();
    } finally {
      await database.pool.query('ALTER TABLE notifications_away RENAME TO notifications');
    }
  });
});

describe('opening a notification', () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  let alice: Session;
  let bob: Session;
  let noRuns: Session;
  let runId: string;
  let ids: { mine: number; other: number; bobs: number; gone: number; noRuns: number };

  // Paused notices, as an operator may have several of for one run (a completion is once per run).
  const insertNotification = async (platformUserId: number, data: Record<string, unknown>) => {
    const { rows } = await database.pool.query<{ id: number }>(
      `INSERT INTO notifications (platform_user_id, type, data) VALUES ($1, 'OperationRunPaused', $2) RETURNING id::int`,
      [platformUserId, JSON.stringify({ runbook: RUNBOOK, reason: 'canary done', ...data })],
    );
    return rows[0]!.id;
  };
  const readAt = async (id: number) =>
    (
      await database.pool.query<{ readAt: Date | null }>(
        'SELECT read_at AS "readAt" FROM notifications WHERE id = $1',
        [id],
      )
    ).rows[0]!.readAt?.toISOString() ?? null;
  const get = (url: string, as: Pick<Session, 'cookies'>) =>
    app.inject({ method: 'GET', url, headers: { cookie: cookieHeader(as.cookies) } });
  const open = (id: number | string, as: Pick<Session, 'cookies'> | null, method: 'GET' | 'HEAD' = 'GET') =>
    app.inject({
      method,
      url: `/system/notifications/${id}/open`,
      headers: as ? { cookie: cookieHeader(as.cookies) } : {},
    });

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await consoleApp(database);
    const [a, b, c] = await Promise.all([
      createOperator(database, [CAPABILITIES.runsView]),
      createOperator(database, [CAPABILITIES.runsView]),
      createOperator(database, [CAPABILITIES.runbooksView, CAPABILITIES.runbooksRun]),
    ]);
    runId = await insertCompletedRun(database, a);
    ids = {
      mine: await insertNotification(a.id, { runId }),
      other: await insertNotification(a.id, { runId }),
      bobs: await insertNotification(b.id, { runId }),
      gone: await insertNotification(a.id, { runId: randomUUID() }),
      noRuns: await insertNotification(c.id, { runId }),
    };
    [alice, bob, noRuns] = await Promise.all([signIn(app, a), signIn(app, b), signIn(app, c)]);
  });

  afterAll(async () => {
    await app?.close();
    await database?.destroy();
  });

  it('marks it read and goes on to its run, without JavaScript or a form; again changes nothing', async () => {
    const list = await get('/system/notifications', alice);
    expect(list.body).toContain(`href="/system/notifications/${ids.mine}/open"`);
    const response = await open(ids.mine, alice);
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe(`/system/ops/runs/${runId}`);
    expect(response.headers['cache-control']).toBe('no-store');
    const first = await readAt(ids.mine);
    expect(first).not.toBeNull();
    expect(await readAt(ids.other)).toBeNull();
    // Back on the list (not kept by the browser: no-store), it shows read, and the count says so.
    const after = await get('/system/notifications', alice);
    expect(after.body.match(/class="badge">Unread</g)).toHaveLength(2);
    expect(after.body).toContain(`href="/system/notifications/${ids.mine}/open"`);

    const again = await open(ids.mine, alice);
    expect(again.statusCode).toBe(303);
    expect(again.headers.location).toBe(`/system/ops/runs/${runId}`);
    expect(await readAt(ids.mine)).toBe(first);
  });

  it('goes to the list when its run is gone, marked read all the same', async () => {
    const list = await get('/system/notifications', alice);
    expect(list.body).not.toContain(`/system/notifications/${ids.gone}/open`);
    const response = await open(ids.gone, alice);
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/system/notifications');
    expect(await readAt(ids.gone)).not.toBeNull();
  });

  it('sends an operator who may not view runs to the list instead of a 403, and shows them no run link', async () => {
    const list = await get('/system/notifications', noRuns);
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain('/open"');
    expect(list.body).not.toContain('/system/ops/runs/');
    const response = await open(ids.noRuns, noRuns);
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/system/notifications');
    expect(await readAt(ids.noRuns)).not.toBeNull();
  });

  it('answers another operator’s, an unknown and a malformed id with the 404, and writes nothing', async () => {
    // Each page carries a fresh CSRF token; the rest is the same page.
    const withoutTokens = (html: string) => html.replace(/(csrf-token" content="|name="_csrf" value=")[^"]+/g, '$1');
    const notFound = withoutTokens((await get('/system/no-such-page', alice)).body);
    for (const id of [ids.bobs, 999_999_999, '0', '-1', '1e3', '9'.repeat(40), randomUUID(), '%3Cscript%3E']) {
      const response = await open(id, alice);
      expect(response.statusCode, String(id)).toBe(404);
      expect(withoutTokens(response.body)).toBe(notFound);
    }
    expect(await readAt(ids.bobs)).toBeNull();
    // Bob's own still opens for Bob.
    expect((await open(ids.bobs, bob)).headers.location).toBe(`/system/ops/runs/${runId}`);
  });

  it('writes nothing for a signed-out visitor (sent to sign in) or for a HEAD', async () => {
    const signedOut = await open(ids.other, null);
    expect(signedOut.statusCode).toBe(303);
    expect(signedOut.headers.location).toBe(
      `/system/login?next=${encodeURIComponent(`/system/notifications/${ids.other}/open`)}`,
    );
    const head = await open(ids.other, alice, 'HEAD');
    expect(head.statusCode).toBe(404);
    expect(await readAt(ids.other)).toBeNull();
  });
});
