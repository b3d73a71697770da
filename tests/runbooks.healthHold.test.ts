// The database health gates on the tests' server, in each test's own database: a lock held by
// another transaction, a transaction open too long (critical, and tuned live). The replica lag
// gate, which needs a server of its own, is in runbooks.replicaLag.test.ts.
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { controlRun, tuneRun } from '../src/runbooks/control.js';
import type { GateChange } from '../src/runbooks/health/gateSettings.js';
import { phaseOf } from '../src/runbooks/runPhase.js';
import { getRun, getRunItems, type RunRecord } from '../src/runbooks/runs.js';
import { runCli, spawnCli } from './support/cli.js';
import { expectEveryTenantFlagged, loadFindings, unflagFindings } from './support/flagOracle.js';
import { useRunbookHarness, type RunbookHarness } from './support/harness.js';
import { pendingRunWork } from './support/pendingActivities.js';
import { tenantIds, waitForRun } from './support/runs.js';
import { slowBatches } from './support/slowBatches.js';
import { until } from './support/until.js';

const REASON = 'The health gates are being tried out';

/** Another session of the test's database, as an application or a person at psql would hold one. */
async function otherSession(h: RunbookHarness): Promise<{ client: pg.Client; pid: number }> {
  const client = new pg.Client({ connectionString: h.database.url });
  await client.connect();
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return { client, pid: rows[0]!.pid };
}

/**
 * A transaction of `session` left open, old enough to be over `ms`. Over the gates' snapshot age
 * (2 s) too, so that no worker judges the run's first batch on a snapshot from before it.
 */
async function openTransactionOlderThan(h: RunbookHarness, session: { client: pg.Client; pid: number }, ms: number) {
  await session.client.query('BEGIN');
  await session.client.query('SELECT txid_current()');
  await until(
    () =>
      h.database.pool.query<{ ms: number }>(
        'SELECT (extract(epoch FROM now() - xact_start) * 1000)::float8 AS ms FROM pg_stat_activity WHERE pid = $1',
        [session.pid],
      ),
    ({ rows }) => (rows[0]?.ms ?? 0) > ms,
    `the transaction to be older than ${ms} ms`,
  );
}

const auditActions = async (h: RunbookHarness, runId: string) =>
  (
    await h.database.pool.query<{ action: string; actor: string; metadata: Record<string, unknown> }>(
      `SELECT action, actor_label AS actor, metadata FROM audit_events WHERE target_id = $1 ORDER BY id`,
      [runId],
    )
  ).rows;

/** Waits until Temporal holds nothing of the run to do: from then on, nothing of it runs until a signal. */
async function untilIdle(h: RunbookHarness, run: RunRecord): Promise<void> {
  const tenants = await tenantIds(h.database.pool);
  await until(
    () => pendingRunWork(h.client, run.workflowId!, tenants),
    (pending) => pending.length === 0,
    'the run to be idle',
  );
}

describe('a lock held by another transaction', () => {
  const h = useRunbookHarness({
    seed: { tenants: 3, findingsPerTenant: 100, seed: 71 },
    settings: { batchSize: 20, childParallelism: 3 },
  });
  let session: { client: pg.Client; pid: number };
  beforeAll(async () => {
    session = await otherSession(h);
  });
  afterAll(() => session?.client.end());

  it('holds the run (never failing the tenant) until the lock goes, then finishes with exact counts', async () => {
    const [first, second] = await tenantIds(h.database.pool);
    const before = await loadFindings(h.database.pool, await tenantIds(h.database.pool));
    // Every finding of the second tenant, locked as an application's long transaction would.
    await session.client.query('BEGIN');
    await session.client.query('SELECT id FROM findings WHERE tenant_id = $1 FOR UPDATE', [second]);

    const { run } = await h.start({ kind: 'all_tenants' });
    const held = await until(
      () => getRun(h.database.pool, run.id),
      (r) => r !== null && phaseOf(r) === 'held',
      'the run to be held',
    );
    // What it waits for names the session that holds the lock: after a batch gave up at the lock
    // timeout, or as a session waiting for the lock over a second.
    expect(held!.heldReason).toMatch(
      new RegExp(
        `^(waiting for a lock on findings held by pid ${session.pid} for [\\d.]+ (ms|s)|` +
          `\\d+ session\\(s\\) waiting for locks on findings \\(blocked by pid ${session.pid}\\))`,
      ),
    );
    // The CLI says it too, with the thresholds the run goes on with.
    const shown = await runCli(['runs', 'show', run.id], { DATABASE_URL: h.database.url }, { testRunbook: true });
    expect(shown.stdout).toMatch(
      new RegExp(
        `\n  throttled: .*pid ${session.pid}.*, since [^ ]+; it goes on by itself once the database is healthy again\n`,
      ),
    );
    expect(shown.stdout).toContain('\n  health gates: max-replica-lag 5 s, max-transaction-age 5 min, ');
    // Held is not failed: the locked tenant is still at work, the others went on.
    await until(
      () => getRunItems(h.database.pool, run.id),
      (items) => items.filter((item) => item.status === 'succeeded').length === 2,
      'the two other tenants to succeed',
    );
    const items = await getRunItems(h.database.pool, run.id);
    expect(items.find((item) => item.tenantId === second)).toMatchObject({ status: 'running', error: null });
    expect(items.find((item) => item.tenantId === first)).toMatchObject({ status: 'succeeded' });

    await session.client.query('ROLLBACK');
    const done = await waitForRun(h.database.pool, run.id);
    expect(done).toMatchObject({ outcome: 'succeeded', heldSince: null, heldReason: null });
    expect(done.heldMs).toBeGreaterThan(0);
    await expectEveryTenantFlagged(h.database.pool, done, before);
    const audit = await auditActions(h, run.id);
    const heldEvent = audit.find((event) => event.action === 'runbook.held');
    expect(heldEvent).toMatchObject({ actor: 'the health gates', metadata: { reason: expect.any(String) } });
    expect(audit.filter((event) => event.action === 'runbook.released').length).toBeGreaterThanOrEqual(1);
    expect(audit.at(-1)!.action).toBe('runbook.completed');
  });
});

describe('a critical threshold', () => {
  // A transaction open over a second is critical here: the run pauses for an operator.
  const gates: GateChange = { critical: { transactionAgeMs: 1_000 } };
  const h = useRunbookHarness({
    seed: { tenants: 4, findingsPerTenant: 100, seed: 72 },
    settings: { batchSize: 20, childParallelism: 2 },
    gates,
  });
  let session: { client: pg.Client; pid: number };
  beforeAll(async () => {
    session = await otherSession(h);
  });
  afterEach(() => session.client.query('ROLLBACK'));
  afterAll(() => session?.client.end());

  const resume = (runId: string) =>
    controlRun(
      { pool: h.database.pool, launcher: h.launcher },
      { runId, initiator: h.operator, source: 'system_ui', reason: REASON },
      'resume',
    );
  const pausedNotifications = async (runId: string) =>
    (
      await h.database.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM notifications WHERE type = 'OperationRunPaused' AND data ->> 'runId' = $1`,
        [runId],
      )
    ).rows[0]!.n;

  it('pauses a multi-tenant run once, tells its initiator once, and the run succeeds after a resume', async () => {
    await unflagFindings(h.database.pool);
    await openTransactionOlderThan(h, session, 2_500);
    const { run } = await h.start({ kind: 'all_tenants' });
    const paused = await until(
      () => getRun(h.database.pool, run.id),
      (r) => r?.pausedAt != null,
      'the run to pause itself',
    );
    expect(paused).toMatchObject({ pausedBy: 'the run itself', status: 'running' });
    expect(paused!.pauseReason).toMatch(
      new RegExp(`^transaction of pid ${session.pid} open for [\\d.]+ s > 1 s \\(critical\\)$`),
    );
    // Both children met the threshold; the run paused, and said so, once.
    await untilIdle(h, run);
    expect(await pausedNotifications(run.id)).toBe(1);
    expect((await auditActions(h, run.id)).filter((event) => event.action === 'runbook.paused')).toHaveLength(1);

    await session.client.query('COMMIT');
    await resume(run.id);
    const done = await waitForRun(h.database.pool, run.id);
    expect(done).toMatchObject({ outcome: 'succeeded', counts: { tenantsSucceeded: 4, tenantsFailed: 0 } });
  });

  it('pauses a one-tenant run by itself, and an operator resumes it', async () => {
    await unflagFindings(h.database.pool);
    await openTransactionOlderThan(h, session, 2_500);
    const { run } = await h.start({ kind: 'tenants', externalIds: ['tenant-00001'] });
    const paused = await until(
      () => getRun(h.database.pool, run.id),
      (r) => r?.pausedAt != null,
      'the run to pause itself',
    );
    expect(paused).toMatchObject({ pausedBy: 'the run itself', pauseReason: expect.stringMatching(/\(critical\)$/) });
    expect(await pausedNotifications(run.id)).toBe(1);
    await session.client.query('COMMIT');
    await resume(run.id);
    expect(await waitForRun(h.database.pool, run.id)).toMatchObject({ outcome: 'succeeded' });
  });
});

describe('thresholds tuned live', () => {
  const h = useRunbookHarness({
    seed: { tenants: 6, findingsPerTenant: 200, seed: 73 },
    settings: { batchSize: 10, childParallelism: 2, activityTimeBudgetMs: 500 },
  });
  let session: { client: pg.Client; pid: number };
  let restore: () => Promise<void>;
  beforeAll(async () => {
    session = await otherSession(h);
    // Batches of some length: the run goes on for seconds after its hold.
    restore = await slowBatches(h.database.pool, 150);
  });
  afterAll(async () => {
    await restore?.();
    await session?.client.end();
  });
  const tuneGates = (runId: string, gates: GateChange) =>
    tuneRun(
      { pool: h.database.pool, launcher: h.launcher },
      { runId, initiator: h.operator, source: 'system_ui', reason: REASON, gates },
    );

  it('hold from the next batch on without a restart, and let it go on again; each change audited, the hold followed', async () => {
    // An open transaction far under the default limit of 5 minutes: nothing holds the run yet.
    await openTransactionOlderThan(h, session, 2_500);
    const { run } = await h.start({ kind: 'all_tenants' });
    const env = { DATABASE_URL: h.database.url, TEMPORAL_ADDRESS: h.config.temporal.address };
    const follow = spawnCli(['runs', 'follow', run.id], env, { testRunbook: true });
    await until(
      () => getRunItems(h.database.pool, run.id),
      (items) => items.some((item) => (item.counts.batches ?? 0) > 0),
      'a first batch',
    );
    const tuned = await tuneGates(run.id, { hold: { transactionAgeMs: 1_000 } });
    expect(tuned.from.gates!.hold.transactionAgeMs).toBe(300_000);
    expect(tuned.to.gates!.hold.transactionAgeMs).toBe(1_000);
    const held = await until(
      () => getRun(h.database.pool, run.id),
      (r) => r !== null && phaseOf(r) === 'held',
      'the run to be held',
    );
    expect(held!.heldReason).toMatch(new RegExp(`^transaction of pid ${session.pid} open for [\\d.]+ (s|min) > 1 s$`));

    // The follower has said so before the run goes on (it reads the run once a second).
    await follow.waitForStderr(new RegExp(`Run ${run.id} is throttled: `), 30_000);
    const cli = await runCli(['runs', 'tune', run.id, '--max-transaction-age', '10m', '--reason', REASON], {
      DATABASE_URL: h.database.url,
      TEMPORAL_ADDRESS: h.config.temporal.address,
    });
    expect(cli.stderr).toBe('');
    expect(cli.stdout).toMatch(/max-transaction-age 1 s → 10 min\.\n$/);
    const done = await waitForRun(h.database.pool, run.id);
    expect(done).toMatchObject({ outcome: 'succeeded', heldSince: null });
    expect(done.settings.gates!.hold.transactionAgeMs).toBe(600_000);
    // Following it said the hold once when it began, and once when it ended.
    const followed = await follow.exited;
    expect(followed.code, followed.stderr).toBe(0);
    const lines = followed.stderr.trimEnd().split('\n');
    expect(lines.filter((line) => line.includes('is throttled:'))).toEqual([
      expect.stringMatching(
        new RegExp(`^Run ${run.id} is throttled: transaction of pid ${session.pid} open for .* > 1 s, since \\S+; `),
      ),
    ]);
    expect(lines.filter((line) => line.includes('health gates are clear'))).toEqual([
      `Run ${run.id} goes on: the health gates are clear.`,
    ]);
    const audit = await auditActions(h, run.id);
    expect(audit.filter((event) => event.action === 'runbook.tuned').map((event) => event.metadata.reason)).toEqual([
      REASON,
      REASON,
    ]);
    expect(audit.map((event) => event.action)).toEqual(
      expect.arrayContaining(['runbook.tuned', 'runbook.held', 'runbook.released', 'runbook.completed']),
    );
    await session.client.query('ROLLBACK');
  });

  it('refuses a threshold out of range, in its own words, at the engine and at the CLI', async () => {
    const { run } = await h.start({ kind: 'all_tenants' });
    await until(
      () => getRun(h.database.pool, run.id),
      (r) => r?.status === 'running',
      'the run to start',
    );
    await expect(tuneGates(run.id, { hold: { connectionsPercent: 0 } })).rejects.toMatchObject({
      code: 'invalid_tuning',
      message: 'The hold limit of connections must be from 1 % to 100 %; got 0 %.',
    });
    const cli = await runCli(['runs', 'tune', run.id, '--max-replica-lag', 'soon', '--reason', REASON], {
      DATABASE_URL: h.database.url,
      TEMPORAL_ADDRESS: h.config.temporal.address,
    });
    expect(cli.code).toBe(2);
    expect(cli.stderr).toBe('error: --max-replica-lag: "soon" is not a duration (write 500ms, 5s, 2m or 1h)\n');
    await waitForRun(h.database.pool, run.id);
  });
});
