import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlRun } from '../src/runbooks/control.js';
import { RunbookRefusal } from '../src/runbooks/refusal.js';
import { getRun, getRunItems, type RunRecord } from '../src/runbooks/runs.js';
import type { GuardsInput } from '../src/runbooks/model.js';
import { queryRunProgress } from '../src/temporal/runWorkflows.js';
import { runCli } from './support/cli.js';
import { unflagFindings } from './support/flagOracle.js';
import { useRunbookHarness } from './support/harness.js';
import { tenantIds, waitForRun } from './support/runs.js';
import { slowBatches } from './support/slowBatches.js';
import { until } from './support/until.js';

describe('runs that pause themselves: error budget and canary wave', () => {
  // One tenant at a time: which tenants ran before a pause is then exact.
  const h = useRunbookHarness({
    seed: { tenants: 8, findingsPerTenant: 40, seed: 41 },
    settings: { childParallelism: 1, batchSize: 20, maxAttempts: 1 },
  });
  let restore: () => Promise<void>;
  beforeAll(async () => {
    restore = await slowBatches(h.database.pool, 30);
  });
  afterAll(() => restore?.());

  const startWith = (guards: GuardsInput, scope: Parameters<typeof h.start>[0] = { kind: 'all_tenants' }) =>
    h.start(scope, { guards });
  const resume = (run: Pick<RunRecord, 'id'>) =>
    controlRun(
      { pool: h.database.pool, launcher: h.launcher },
      { runId: run.id, initiator: h.operator, source: 'system_ui' },
      'resume',
    );
  const settled = async (runId: string) =>
    (await getRunItems(h.database.pool, runId)).filter(
      (item) => item.status !== 'pending' && item.status !== 'running',
    );
  const pausedItself = (runId: string) =>
    until(
      () => getRun(h.database.pool, runId),
      (run) => run?.pausedBy === 'the run itself',
      'the run to pause itself',
    );
  // The CLI of these tests knows the test runbook, as this process does: its runs are the CLI's to show and retry.
  const cli = { testRunbook: true };
  const notes = async (runId: string, type: string) =>
    (
      await h.database.pool.query(`SELECT data FROM notifications WHERE type = $1 AND data ->> 'runId' = $2`, [
        type,
        runId,
      ])
    ).rows;

  it('an error budget of 1 failed tenant pauses the run at the second failure; resume completes it partially_succeeded; retry-failed covers exactly the failed tenants', async () => {
    await unflagFindings(h.database.pool);
    const [, second, third] = await tenantIds(h.database.pool);
    await h.database.pool.query(`
      CREATE FUNCTION refuse_tenant() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'tenant % is locked', NEW.tenant_id; END $$;
      CREATE TRIGGER refuse_tenant BEFORE UPDATE ON findings FOR EACH ROW WHEN (NEW.tenant_id IN (${second}, ${third})) EXECUTE FUNCTION refuse_tenant();`);
    let run: RunRecord;
    try {
      ({ run } = await startWith({ maxFailedTenants: 1 }));
      const paused = await pausedItself(run.id);
      expect(paused).toMatchObject({
        status: 'running',
        pauseReason: 'error budget exceeded: 2 tenants failed (budget: 1 tenants)',
      });
      const atPause = await settled(run.id);
      expect(atPause.map((item) => item.tenantId)).toEqual([atPause[0]!.tenantId, second, third]);
      expect((await queryRunProgress(h.client, run.id)).running).toBe(0);
      expect(await notes(run.id, 'OperationRunPaused')).toEqual([
        { data: expect.objectContaining({ reason: paused!.pauseReason }) },
      ]);
      await resume(run);
      const done = await waitForRun(h.database.pool, run.id);
      expect(done).toMatchObject({ outcome: 'partially_succeeded', counts: { tenantsFailed: 2, tenantsSucceeded: 6 } });
    } finally {
      await h.database.pool.query('DROP TRIGGER refuse_tenant ON findings; DROP FUNCTION refuse_tenant()');
    }
    const { rows } = await h.database.pool.query(
      `SELECT action FROM audit_events WHERE target_id = $1 AND action = 'runbook.paused'`,
      [run.id],
    );
    expect(rows).toHaveLength(1);

    // Retry the failed tenants: a new run over exactly those two, linked both ways.
    const env = {
      DATABASE_URL: h.database.url,
      TEMPORAL_ADDRESS: h.config.temporal.address,
      TEMPORAL_TASK_QUEUE: h.config.temporal.taskQueue,
    };
    const retried = await runCli(
      ['runs', 'retry-failed', run.id, '--reason', 'The locks are gone now', '--wait', '--json'],
      env,
      cli,
    );
    expect(retried.code, retried.stderr).toBe(0);
    const retry = JSON.parse(retried.stdout).run as RunRecord;
    expect(retry).toMatchObject({ outcome: 'succeeded', retryOf: run.id, scopeKind: 'tenants' });
    expect((await getRunItems(h.database.pool, retry.id)).map((item) => item.tenantId)).toEqual([second, third]);
    const shown = JSON.parse((await runCli(['runs', 'show', run.id, '--json'], env, cli)).stdout);
    expect(shown.retries).toEqual([{ id: retry.id, status: 'completed', outcome: 'succeeded' }]);
    const human = (await runCli(['runs', 'show', run.id], env, cli)).stdout;
    expect(human).toContain(`retried by run ${retry.id} (completed, succeeded)`);
    // The failed tenants are listed first.
    const listed = human.split('Tenants (8):\n')[1]!.split('\n').slice(0, 2);
    expect(listed.every((line) => / failed +changed/.test(line))).toBe(true);
    const again = await runCli(['runs', 'retry-failed', retry.id, '--reason', 'Nothing failed this time'], env, cli);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/completed \(succeeded\); only a run that ended partially succeeded or failed/);
  });

  it('--canary 2 pauses after exactly 2 tenants; resume finishes the run', async () => {
    await unflagFindings(h.database.pool);
    const { run } = await startWith({ canary: { count: 2 } });
    const paused = await pausedItself(run.id);
    expect(paused!.pauseReason).toBe('canary done: 2 succeeded, 0 failed');
    // The totals a paused run shows are its items' at the pause, not a throttled refresh's.
    expect(paused!.counts).toMatchObject({ tenants: 8, tenantsSucceeded: 2, tenantsPending: 6 });
    const customers = await tenantIds(h.database.pool);
    expect((await settled(run.id)).map((item) => item.tenantId)).toEqual(customers.slice(0, 2));
    expect(await notes(run.id, 'OperationRunPaused')).toHaveLength(1);
    // The go-ahead from the CLI, with its reason: audited, and shown by `runs show`.
    const env = {
      DATABASE_URL: h.database.url,
      TEMPORAL_ADDRESS: h.config.temporal.address,
      TEMPORAL_TASK_QUEUE: h.config.temporal.taskQueue,
    };
    const short = await runCli(['runs', 'resume', run.id, '--reason', 'short'], env, cli);
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/^error: The reason must be 10 to 500 characters; it has 5/);
    expect((await getRun(h.database.pool, run.id))!.pausedAt).not.toBeNull();
    const resumed = await runCli(['runs', 'resume', run.id, '--reason', 'The canary tenants look right'], env, cli);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(await waitForRun(h.database.pool, run.id)).toMatchObject({
      outcome: 'succeeded',
      counts: { tenantsSucceeded: 8 },
    });
    expect((await runCli(['runs', 'show', run.id], env, cli)).stdout).toMatch(
      /runbook\.resumed {2}cli:\S+: "The canary tenants look right"/,
    );
  });

  it('named canary tenants run first, each tenant once', async () => {
    await unflagFindings(h.database.pool);
    const customers = await tenantIds(h.database.pool);
    const { run } = await startWith({ canary: { tenants: ['tenant-00005', 'tenant-00003'] } });
    await pausedItself(run.id);
    const { rows } = await h.database.pool.query(
      `SELECT id::int FROM tenants WHERE external_id IN ('tenant-00003', 'tenant-00005') ORDER BY id`,
    );
    expect((await settled(run.id)).map((item) => item.tenantId)).toEqual(rows.map((row) => row.id));
    await resume(run);
    const done = await waitForRun(h.database.pool, run.id);
    expect(done).toMatchObject({ outcome: 'succeeded', counts: { tenantsSucceeded: 8, examined: 8 * 40 } });
    expect((await getRunItems(h.database.pool, run.id)).map((item) => item.tenantId)).toEqual(customers);
  });

  it.each<[string, GuardsInput, Parameters<typeof h.start>[0], RegExp]>([
    [
      'a canary on one tenant',
      { canary: { count: 1 } },
      { kind: 'tenants', externalIds: ['tenant-00001'] },
      /needs a run of several tenants/,
    ],
    [
      'a canary as large as the scope',
      { canary: { count: 8 } },
      { kind: 'all_tenants' },
      /runs 1 to 7 tenants of the 8 in scope; got 8/,
    ],
    [
      'canary tenants outside the scope',
      { canary: { tenants: ['tenant-00004'] } },
      { kind: 'tenants', externalIds: ['tenant-00001', 'tenant-00002'] },
      /not in it: tenant-00004/,
    ],
    ['a budget above 100%', { maxFailedPercent: 101 }, { kind: 'all_tenants' }, /from 0 to 100/],
    [
      'a budget of more tenants than any scope has, saying its range',
      { maxFailedTenants: 1e12 },
      { kind: 'all_tenants' },
      /failed tenants must be a whole number from 0 to 1,000,000\./,
    ],
  ])('refuses %s', async (_, guards, scope, message) => {
    const before = (await h.database.pool.query('SELECT count(*)::int AS n FROM operation_runs')).rows[0].n;
    const error = await startWith(guards, scope).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunbookRefusal);
    expect(error).toMatchObject({ code: 'invalid_guards', message: expect.stringMatching(message) });
    expect((await h.database.pool.query('SELECT count(*)::int AS n FROM operation_runs')).rows[0].n).toBe(before);
  });
});
