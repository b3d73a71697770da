import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertTransition, InvalidTransitionError, persistTransition } from '../src/runbooks/runStatus.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';
import { RUN_STATUSES, type RunStatus } from '../src/runbooks/model.js';

/**
 * The transition map written out by hand: a change to `TRANSITIONS` (or a new status) must be
 * made here too, on purpose. Same-status pairs are refused by `assertTransition`;
 * `persistTransition` treats them as an idempotent no-op before asking it.
 */
const EXPECTED: Record<RunStatus, Record<RunStatus, boolean>> = {
  queued: { queued: false, running: true, completed: true },
  running: { queued: false, running: false, completed: true },
  completed: { queued: false, running: false, completed: false },
};

const allowedFrom = (from: RunStatus) => RUN_STATUSES.filter((to) => EXPECTED[from][to]);

describe('assertTransition', () => {
  it('knows exactly the statuses the table covers', () => {
    expect([...RUN_STATUSES]).toEqual(['queued', 'running', 'completed']);
  });

  const pairs = RUN_STATUSES.flatMap((from) => RUN_STATUSES.map((to) => [from, to, EXPECTED[from][to]] as const));

  it.each(pairs.filter(([, , allowed]) => allowed))('allows %s → %s', (from, to) => {
    expect(() => assertTransition(from, to)).not.toThrow();
  });

  it.each(pairs.filter(([, , allowed]) => !allowed))('refuses %s → %s and lists the allowed targets', (from, to) => {
    let caught: unknown;
    try {
      assertTransition(from, to);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidTransitionError);
    const targets = allowedFrom(from);
    expect((caught as Error).message).toBe(
      `run status cannot go from ${from} to ${to}; from ${from} it may go to: ${targets.join(', ') || 'nothing'}`,
    );
  });
});

describe('persistTransition', () => {
  let db: TestDatabase;
  let workspaceId: number;

  beforeAll(async () => {
    db = await createTestDatabase();
    const { rows } = await db.pool.query<{ id: number }>(
      `INSERT INTO workspaces (slug, name) VALUES ('run-status', 'Run status') RETURNING id::int`,
    );
    workspaceId = rows[0]!.id;
  });
  afterAll(() => db?.destroy());

  async function insertRun(status: RunStatus = 'queued'): Promise<string> {
    const { rows } = await db.pool.query<{ id: string }>(
      `INSERT INTO operation_runs (workspace_id, runbook, scope_kind, scope, status, source, initiator_label, reason)
       VALUES ($1, 'findings.lifecycle.rebuild', 'tenant', '{"tenants":[]}', $2, 'cli', 'test', 'status transitions')
       RETURNING id`,
      [workspaceId, status],
    );
    return rows[0]!.id;
  }

  const readRun = async (id: string) =>
    (await db.pool.query(`SELECT * FROM operation_runs WHERE id = $1`, [id])).rows[0];

  it('treats a move to the current status as a no-op', async () => {
    for (const status of RUN_STATUSES) {
      const id = await insertRun(status);
      const before = await readRun(id);
      await expect(persistTransition(db.pool, id, status, { outcome: 'failed', error: 'ignored' })).resolves.toEqual({
        changed: false,
        from: status,
      });
      expect(await readRun(id)).toEqual(before);
    }
  });

  it('throws InvalidTransitionError on a refused edge and writes nothing', async () => {
    for (const [from, to] of [
      ['running', 'queued'],
      ['completed', 'queued'],
      ['completed', 'running'],
    ] as const) {
      const id = await insertRun(from);
      const before = await readRun(id);
      await expect(persistTransition(db.pool, id, to, { outcome: 'failed', error: 'boom' })).rejects.toThrow(
        InvalidTransitionError,
      );
      expect(await readRun(id)).toEqual(before);
    }
  });

  it('sets started_at when the run starts running, and keeps it', async () => {
    const id = await insertRun();
    expect(await readRun(id)).toMatchObject({ started_at: null, completed_at: null });
    await expect(persistTransition(db.pool, id, 'running')).resolves.toEqual({ changed: true, from: 'queued' });
    const running = await readRun(id);
    expect(running).toMatchObject({ status: 'running', completed_at: null, outcome: null });
    expect(running.started_at).toBeInstanceOf(Date);

    await persistTransition(db.pool, id, 'completed', { outcome: 'succeeded' });
    expect((await readRun(id)).started_at).toEqual(running.started_at);
  });

  it('sets completed_at, outcome and error when the run completes', async () => {
    const id = await insertRun('running');
    await expect(
      persistTransition(db.pool, id, 'completed', { outcome: 'partially_succeeded', error: 'one tenant failed' }),
    ).resolves.toEqual({
      changed: true,
      from: 'running',
    });
    const completed = await readRun(id);
    expect(completed).toMatchObject({
      status: 'completed',
      outcome: 'partially_succeeded',
      error: 'one tenant failed',
    });
    expect(completed.completed_at).toBeInstanceOf(Date);
  });

  it('completes a queued run that never started without inventing a start time', async () => {
    const id = await insertRun();
    await persistTransition(db.pool, id, 'completed', { outcome: 'cancelled' });
    const completed = await readRun(id);
    expect(completed).toMatchObject({ status: 'completed', outcome: 'cancelled', started_at: null });
    expect(completed.completed_at).toBeInstanceOf(Date);
  });

  it('names a run that does not exist', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    await expect(persistTransition(db.pool, missing, 'running')).rejects.toThrow(
      `operation run ${missing} does not exist`,
    );
  });
});
