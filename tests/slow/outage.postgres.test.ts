import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { getRunItems, type RunRecord } from '../../src/runbooks/runs.js';
import { spawnCli } from '../support/cli.js';
import { expectEveryTenantRebuilt } from '../support/expectRebuilt.js';
import { expectEveryTenantFlagged, flaggedTitle, loadFindings, mismatches } from '../support/flagOracle.js';
import { loadFindingStates } from '../support/lifecycleOracle.js';
import { useOwnedPostgres } from '../support/ownedPostgres.js';
import { pendingTenantActivities, type PendingActivity } from '../support/pendingActivities.js';
import { startRunbookWorld } from '../support/runbookWorld.js';
import { notificationsOf, tenantIds, waitForRun, waitForTenantMidWork } from '../support/runs.js';

// 30 tenants of 300 findings in batches of 25, two tenants at a time: a run of some seconds, so
// that an outage lands in its middle. Short heartbeats make a lost activity's retry quick.
const SEED = { tenants: 30, findingsPerTenant: 300 };
const SETTINGS = { batchSize: 25, childParallelism: 2, heartbeatTimeoutMs: 3_000, maxAttempts: 5 };
const REASON = 'Rebuild lifecycle fields (outage test)';

const seconds = (ms: number) => Math.round(ms / 100) / 10;
const runSeconds = (run: RunRecord) => seconds(run.completedAt!.getTime() - run.startedAt!.getTime());

describe('PostgreSQL stopped in the middle of an all-tenants run (owned server, real Temporal, real worker)', () => {
  const server = useOwnedPostgres();

  /** Stops the owned server for `ms` (running `during` meanwhile), starts it again; returns seconds down. */
  async function outage(ms: number, during: () => Promise<void> = async () => {}): Promise<number> {
    await server().stop();
    const down = Date.now();
    try {
      // Not a wait for a condition: the outage's length is what the test sets, the server stays down this long.
      await Promise.all([sleep(ms), during()]);
    } finally {
      await server().start();
    }
    return seconds(Date.now() - down);
  }

  it('a 60 s outage: the run rides it out and succeeds with exact counts and correct data', async () => {
    const world = await startRunbookWorld({
      databaseUrl: server().url('outage_ride_out'),
      seed: { ...SEED, seed: 31 },
      settings: SETTINGS,
    });
    try {
      const customers = await tenantIds(world.pool);
      const before = await loadFindings(world.pool, customers);
      const { preflight, run } = await world.start({ kind: 'all_tenants' });
      expect(preflight.report.toChange).toBeGreaterThan(0);

      const { settled: settledAtStop, midWork } = await waitForTenantMidWork(world.pool, run.id);
      expect(settledAtStop).toBeLessThan(customers.length);
      let pending: PendingActivity[] = [];
      const down = await outage(60_000, async () => {
        await sleep(20_000);
        pending = await pendingTenantActivities(world.client, run.workflowId!, midWork);
      });
      // The outage caught those tenants mid-work: their batch activity failed and is being retried.
      const retried = pending.filter(
        (activity) =>
          activity.activity === 'processTenant' &&
          activity.attempt >= 2 &&
          /ECONNREFUSED/.test(activity.lastFailure ?? ''),
      );
      expect(
        retried.map((activity) => activity.workflowId),
        JSON.stringify(pending),
      ).toEqual(midWork.map((t) => `${run.workflowId}/tenant-${t}`));

      const done = await waitForRun(world.pool, run.id, 240_000);
      const rowsChecked = await expectEveryTenantFlagged(world.pool, done, before);
      expect(await notificationsOf(world.pool, run.id)).toBe(1);
      expect(world.workerFailure()).toBeUndefined();
      console.log(
        `[outage.postgres] PostgreSQL down ${down} s after ${settledAtStop}/${customers.length} tenants settled; ` +
          `outcome ${done.outcome}; ${done.counts.tenantsSucceeded}/${customers.length} tenants succeeded; ` +
          `${rowsChecked} findings checked against the rules, ${done.counts.changed} changed; ` +
          `run took ${runSeconds(done)} s; during the outage ${retried.length} tenant activities were retrying ` +
          `(e.g. ${retried[0]!.activity} attempt ${retried[0]!.attempt}: ${retried[0]!.lastFailure})`,
      );
    } finally {
      await server().start();
      await world.close();
    }
  });

  // The CLI starts a catalog runbook (Rebuild Findings Lifecycle), as an engineer would, and the
  // lifecycle's pure rules check the data: a child process knows only the catalog.
  it("the CLI's --wait rides out a 20 s outage: one line when it starts, one when it ends, exit 0, no stack", async () => {
    const databaseUrl = server().url('outage_cli');
    const world = await startRunbookWorld({ databaseUrl, seed: { ...SEED, seed: 32 }, settings: SETTINGS });
    const cli = spawnCli(
      [
        'start-runbook',
        'findings-lifecycle',
        '--all-tenants',
        '--confirm',
        'ALL TENANTS',
        '--reason',
        REASON,
        '--wait',
      ],
      {
        DATABASE_URL: databaseUrl,
        TEMPORAL_ADDRESS: world.config.temporal.address,
        TEMPORAL_TASK_QUEUE: world.config.temporal.taskQueue,
        RUNBOOK_BATCH_SIZE: String(SETTINGS.batchSize),
        RUNBOOK_CHILD_PARALLELISM: String(SETTINGS.childParallelism),
        RUNBOOK_HEARTBEAT_TIMEOUT_SECONDS: String(SETTINGS.heartbeatTimeoutMs / 1000),
      },
    );
    try {
      const customers = await tenantIds(world.pool);
      const before = await loadFindingStates(world.pool, customers);
      const [, runId] = await cli.waitForStderr(/Started: run ([0-9a-f-]{36})/);
      const { settled: settledAtStop } = await waitForTenantMidWork(world.pool, runId!);
      expect(settledAtStop).toBeLessThan(customers.length);
      const down = await outage(20_000);
      const result = await Promise.race([cli.exited, sleep(240_000).then(() => null)]);
      expect(result, `the CLI did not exit; stderr so far:\n${cli.stderr}`).not.toBeNull();

      const where = `127.0.0.1:${server().port}/outage_cli`;
      const count = (text: string, line: string) => text.split(line).length - 1;
      expect({ code: result!.code, stderr: result!.stderr }).toMatchObject({ code: 0 });
      expect(count(result!.stderr, `database unavailable at ${where}, retrying…`)).toBe(1);
      expect(count(result!.stderr, `database at ${where} is back; following run ${runId}.`)).toBe(1);
      expect(result!.stderr.indexOf('unavailable at')).toBeLessThan(result!.stderr.indexOf('is back'));
      expect(result!.stdout).toMatch(new RegExp(`^${runId} Completed \\(succeeded\\)`, 'm'));
      for (const output of [result!.stdout, result!.stderr]) {
        expect(output).not.toMatch(/\n\s+at /);
        expect(output).not.toMatch(/\{ length:|severity:|routine:/);
      }
      const done = await waitForRun(world.pool, runId!);
      const rowsChecked = await expectEveryTenantRebuilt(world.pool, done, before);
      console.log(
        `[outage.postgres] CLI --wait: PostgreSQL down ${down} s; exit code ${result!.code}; outcome ${done.outcome}; ` +
          `${rowsChecked} findings checked; run took ${runSeconds(done)} s; stderr:\n${result!.stderr}`,
      );
    } finally {
      cli.kill();
      await server().start();
      await world.close();
    }
  });

  it('an outage longer than the outage window fails the tenants it caught, naming the outage; the run completes and frees its scope', async () => {
    const world = await startRunbookWorld({
      databaseUrl: server().url('outage_window'),
      seed: { ...SEED, seed: 33 },
      settings: SETTINGS,
      outageWindowMs: 5_000,
    });
    try {
      const customers = await tenantIds(world.pool);
      const before = await loadFindings(world.pool, customers);
      const { run } = await world.start({ kind: 'all_tenants' });
      const { settled: settledAtStop, midWork } = await waitForTenantMidWork(world.pool, run.id);
      const down = await outage(25_000);

      const done = await waitForRun(world.pool, run.id, 240_000);
      const items = await getRunItems(world.pool, run.id);
      const failed = items.filter((item) => item.status === 'failed');
      const succeeded = items.filter((item) => item.status === 'succeeded');
      expect(failed.length).toBeGreaterThanOrEqual(1);
      // Only tenants holding one of the run's slots can be caught: the others wait for a slot.
      expect(failed.length).toBeLessThanOrEqual(2 * SETTINGS.childParallelism);
      // The tenants it caught mid-work are among them (a start it blocked may be too).
      expect(midWork.filter((tenantId) => !failed.some((item) => item.tenantId === tenantId))).toEqual([]);
      expect(succeeded.length).toBe(customers.length - failed.length);
      for (const item of failed) {
        expect(item.error, item.externalId).toMatch(
          /^Infrastructure unavailable for more than 5 seconds, the outage window \(last error: .+\)\.$/,
        );
      }
      expect(done).toMatchObject({ status: 'completed', outcome: 'partially_succeeded' });
      expect(done.counts).toMatchObject({
        tenants: customers.length,
        tenantsFailed: failed.length,
        tenantsSucceeded: succeeded.length,
      });
      expect(items.reduce((sum, item) => sum + item.counts.changed, 0)).toBe(done.counts.changed);

      // Succeeded tenants are done; a failed tenant kept exactly the batches it counted.
      const after = await loadFindings(world.pool, customers);
      const failedIds = new Set(failed.map((item) => item.tenantId));
      const ofTenants = (keep: (tenantId: number) => boolean) =>
        new Map([...after].filter(([, finding]) => keep(finding.tenantId)));
      const marked = (id: number) => flaggedTitle(before.get(id)!, done);
      expect(
        mismatches(
          ofTenants((t) => !failedIds.has(t)),
          marked,
        ),
      ).toEqual([]);
      for (const item of failed) {
        const findings = [...ofTenants((t) => t === item.tenantId)];
        const touched = findings.filter(([id, finding]) => finding.title !== before.get(id)!.title);
        expect(touched.length, item.externalId).toBe(item.counts.changed);
        expect(mismatches(new Map(touched), marked)).toEqual([]);
      }

      // The scope is free again: a new run of it is accepted, and finishes the failed tenants.
      const beforeAgain = await loadFindings(world.pool, customers);
      const again = await world.start({ kind: 'all_tenants' });
      const second = await waitForRun(world.pool, again.run.id, 240_000);
      const rowsChecked = await expectEveryTenantFlagged(world.pool, second, beforeAgain);
      expect(mismatches(await loadFindings(world.pool, customers), marked)).toEqual([]);
      console.log(
        `[outage.postgres] outage window 5 s: PostgreSQL down ${down} s after ${settledAtStop}/${customers.length} tenants settled; ` +
          `outcome ${done.outcome}; ${failed.length} failed (${failed.map((i) => `${i.externalId}: ${i.counts.batches} batches, ${i.counts.changed} changed`).join('; ')}), ${succeeded.length} succeeded; ` +
          `run took ${runSeconds(done)} s; error: ${failed[0]!.error}; ` +
          `second run of the same scope: ${second.outcome}, ${second.counts.changed} changed, ${rowsChecked} findings checked, ${runSeconds(second)} s`,
      );
    } finally {
      await server().start();
      await world.close();
    }
  });
});
