// One switch for every run (#24): stop-all pauses every active run within seconds and refuses
// every start while it holds; resume-all lets exactly the runs it paused finish, with exact counts.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { controlRun } from '../src/runbooks/control.js';
import { initiatorLabel } from '../src/runbooks/initiator.js';
import { getRun, type RunRecord } from '../src/runbooks/runs.js';
import { resumeAllRuns, stopAllRuns } from '../src/runbooks/stopAll.js';
import { runCli } from './support/cli.js';
import { expectEveryTenantFlagged, loadFindings, unflagFindings } from './support/flagOracle.js';
import { useRunbookHarness } from './support/harness.js';
import { pendingRunWork } from './support/pendingActivities.js';
import { refusalOf } from './support/refusal.js';
import { tenantIds, waitForRun } from './support/runs.js';
import { slowBatches } from './support/slowBatches.js';
import { until } from './support/until.js';

const REASON = 'The primary is failing over: stop everything';

describe('stopping every run', () => {
  const h = useRunbookHarness({
    seed: { tenants: 5, findingsPerTenant: 120, seed: 83 },
    settings: { batchSize: 10, childParallelism: 1 },
  });
  let restore: () => Promise<void>;
  beforeAll(async () => {
    restore = await slowBatches(h.database.pool, 60);
  });
  afterAll(() => restore?.());
  // A test that fails half-way leaves no stop behind for the next one.
  afterEach(() => h.database.pool.query('UPDATE run_stops SET lifted_at = now() WHERE lifted_at IS NULL'));
  const deps = () => ({ pool: h.database.pool, launcher: h.launcher });
  const operator = () => initiatorLabel(h.operator);
  const stop = (confirmation: string | null = 'STOP ALL RUNS') =>
    stopAllRuns(deps(), { initiator: h.operator, source: 'system_ui', reason: REASON, confirmation });

  it('pauses 3 active runs within 5 s, refuses starts, and resume-all lets them finish exactly', async () => {
    await unflagFindings(h.database.pool);
    const ids = await tenantIds(h.database.pool);
    const before = await loadFindings(h.database.pool, ids);
    const scopes = [['tenant-00001', 'tenant-00002'], ['tenant-00003', 'tenant-00004'], ['tenant-00005']];
    const runs: RunRecord[] = [];
    for (const externalIds of scopes) runs.push((await h.start({ kind: 'tenants', externalIds })).run);
    await until(
      () => Promise.all(runs.map((run) => getRun(h.database.pool, run.id))),
      (now) => now.every((run) => (run?.counts.batches ?? 0) > 0 || run?.status === 'running'),
      'the three runs to be under way',
    );

    expect((await refusalOf(stop(null))).message).toBe(
      'Stopping every run needs the typed confirmation "STOP ALL RUNS" exactly.',
    );
    const began = Date.now();
    const stopped = await stop();
    expect(new Set(stopped.paused)).toEqual(new Set(runs.map((run) => run.id)));
    expect(stopped.untold).toEqual([]);
    // Idle: no workflow task or activity of any of them is left to run.
    for (const run of runs) {
      await until(
        () => pendingRunWork(h.client, run.workflowId!, ids),
        (pending) => pending.length === 0,
        `run ${run.id} to be idle`,
        5_000,
      );
    }
    expect(Date.now() - began).toBeLessThan(5_000);
    const paused = await Promise.all(runs.map((run) => getRun(h.database.pool, run.id)));
    for (const run of paused)
      expect(run).toMatchObject({ status: 'running', pausedBy: operator(), pauseReason: REASON });
    // Every start is refused, naming the stop; so is a second stop.
    const refused = await refusalOf(h.start({ kind: 'tenants', externalIds: ['tenant-00005'] }));
    expect(refused.code).toBe('runs_stopped');
    expect(refused.message).toMatch(
      new RegExp(
        `^Every run is stopped \\(by ${operator()} at .+: "${REASON}"\\); nothing starts until someone resumes them all \\(runs resume-all\\)\\.$`,
      ),
    );
    expect((await refusalOf(stop())).code).toBe('runs_stopped');

    const resumed = await resumeAllRuns(deps(), {
      initiator: h.operator,
      source: 'system_ui',
      reason: 'The failover is done',
    });
    expect(new Set(resumed.resumed)).toEqual(new Set(runs.map((run) => run.id)));
    for (const run of runs) {
      const done = await waitForRun(h.database.pool, run.id);
      expect(done).toMatchObject({ outcome: 'succeeded', pausedAt: null });
      const tenants = new Set('tenants' in run.scope ? run.scope.tenants.map((tenant) => tenant.id) : []);
      const mine = new Map([...before].filter(([, finding]) => tenants.has(finding.tenantId)));
      await expectEveryTenantFlagged(h.database.pool, done, mine);
    }

    const { rows } = await h.database.pool.query<{ action: string; metadata: { runs: string[] } }>(
      `SELECT action, metadata FROM audit_events WHERE action IN ('runbook.stopped_all', 'runbook.resumed_all') ORDER BY id`,
    );
    expect(rows.map((row) => [row.action, new Set(row.metadata.runs)])).toEqual([
      ['runbook.stopped_all', new Set(runs.map((run) => run.id))],
      ['runbook.resumed_all', new Set(runs.map((run) => run.id))],
    ]);
  });

  it('leaves alone a run an operator paused before, and one they resumed by hand during the stop', async () => {
    await unflagFindings(h.database.pool);
    const { run: pausedBefore } = await h.start({ kind: 'tenants', externalIds: ['tenant-00001', 'tenant-00002'] });
    const { run: resumedByHand } = await h.start({ kind: 'tenants', externalIds: ['tenant-00003', 'tenant-00004'] });
    const control = (run: RunRecord, action: 'pause' | 'resume', reason: string) =>
      controlRun(deps(), { runId: run.id, initiator: h.operator, source: 'system_ui', reason }, action);
    await until(
      () => getRun(h.database.pool, pausedBefore.id),
      (run) => run?.status === 'running',
      'the run to start',
    );
    await control(pausedBefore, 'pause', 'Looking at tenant-00001 first');
    const stopped = await stop();
    expect(stopped.paused).toEqual([resumedByHand.id]);
    await control(resumedByHand, 'resume', 'This one must go on regardless');
    const resumed = await resumeAllRuns(deps(), {
      initiator: h.operator,
      source: 'cli',
      reason: 'The failover is done',
    });
    expect(resumed.resumed).toEqual([]);
    expect((await getRun(h.database.pool, pausedBefore.id))!.pauseReason).toBe('Looking at tenant-00001 first');
    await control(pausedBefore, 'resume', 'Looked at it, go on');
    await waitForRun(h.database.pool, pausedBefore.id);
    await waitForRun(h.database.pool, resumedByHand.id);
  });

  it('is there at the CLI: stop-all needs its phrase, resume-all a stop to lift', async () => {
    const env = { DATABASE_URL: h.database.url, TEMPORAL_ADDRESS: h.config.temporal.address };
    const cli = (...args: string[]) => runCli(['runs', ...args], env, { testRunbook: true });
    expect(await cli('stop-all', '--reason', REASON)).toMatchObject({
      code: 2,
      stderr: 'error: Stopping every run needs the typed confirmation "STOP ALL RUNS" exactly.\n',
    });
    const stopped = await cli('stop-all', '--reason', REASON, '--confirm', 'STOP ALL RUNS');
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toMatch(
      /^Stopped every run: 0 paused \(none\); every start is refused until: .* runs resume-all --reason "<why>"\n$/,
    );
    const resumed = await cli('resume-all', '--reason', 'The failover is done', '--json');
    expect(JSON.parse(resumed.stdout)).toMatchObject({ resumed: [] });
    expect(await cli('resume-all', '--reason', 'The failover is done')).toMatchObject({
      code: 2,
      stderr: 'error: No stop holds: every run goes on as it was.\n',
    });
  });
});
