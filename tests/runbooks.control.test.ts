import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlRun, type RunAction } from '../src/runbooks/control.js';
import type { Initiator } from '../src/runbooks/initiator.js';
import { launchRun } from '../src/runbooks/launchRun.js';
import { runPreflight } from '../src/runbooks/preflight.js';
import { RunbookRefusal } from '../src/runbooks/refusal.js';
import { getRunbook } from '../src/runbooks/registry.js';
import { getRun, getRunItems, insertRun, type RunRecord } from '../src/runbooks/runs.js';
import { queryRunProgress } from '../src/temporal/runWorkflows.js';
import { workflowIdFor } from '../src/temporal/workflowIds.js';
import { unflagFindings } from './support/flagOracle.js';
import { FLAG_PARAMETERS, RUNBOOK, useRunbookHarness } from './support/harness.js';
import { pendingRunWork } from './support/pendingActivities.js';
import { tenantIds, untilChildrenRunning, waitForRun } from './support/runs.js';
import { slowBatches } from './support/slowBatches.js';
import { until } from './support/until.js';

const refusalCode = (attempt: Promise<unknown>) =>
  attempt.then(
    () => 'no refusal',
    (error: unknown) => (error instanceof RunbookRefusal ? error.code : `not a refusal: ${String(error)}`),
  );

describe('pausing, resuming and cancelling a run', () => {
  // Two children at a time and continue-as-new after two: a pause outlives continuations.
  const h = useRunbookHarness({
    seed: { tenants: 8, findingsPerTenant: 100, seed: 13 },
    settings: { batchSize: 20, childParallelism: 2, continueAsNewAfter: 2 },
  });
  let restore: () => Promise<void>;
  beforeAll(async () => {
    restore = await slowBatches(h.database.pool, 150);
  });
  afterAll(() => restore?.());

  const control = (run: Pick<RunRecord, 'id'>, action: RunAction, initiator: Initiator = h.operator) =>
    controlRun(
      { pool: h.database.pool, launcher: h.launcher },
      { runId: run.id, initiator, source: 'system_ui' },
      action,
    );

  /** Waits until Temporal holds nothing of the run to do: from then on, nothing of it runs until a signal. */
  const untilIdle = async (run: RunRecord) => {
    const tenants = await tenantIds(h.database.pool);
    await until(
      () => pendingRunWork(h.client, run.workflowId!, tenants),
      (pending) => pending.length === 0,
      'the run to be idle',
    );
  };

  /** Batches the run's tenants have committed so far. */
  const batchesSoFar = async (runId: string) =>
    (await getRunItems(h.database.pool, runId)).reduce((sum, item) => sum + (item.counts.batches ?? 0), 0);

  it("pauses after the running children's current batch, says so on the run row, and succeeds after resume", async () => {
    await unflagFindings(h.database.pool);
    const { run } = await h.start({ kind: 'all_tenants' });
    await untilChildrenRunning(h.client, run.id, 2);
    await until(
      () => batchesSoFar(run.id),
      (n) => n > 0,
      'a first batch',
    );
    const paused = await control(run, 'pause');
    expect(paused).toMatchObject({
      status: 'running',
      pausedBy: h.operator.kind === 'platform_user' ? h.operator.email : '',
    });
    expect(paused.pausedAt).toBeInstanceOf(Date);

    // The children stay, mid-tenant: each finishes at most the batch it was in, then takes no new one.
    const atPause = await batchesSoFar(run.id);
    await untilIdle(run);
    expect(await batchesSoFar(run.id)).toBeLessThanOrEqual(atPause + 2);
    expect(await queryRunProgress(h.client, run.id)).toMatchObject({ paused: true, running: 2 });
    expect(await refusalCode(control(run, 'pause'))).toBe('already_paused');

    expect((await control(run, 'resume')).pausedAt).toBeNull();
    const done = await waitForRun(h.database.pool, run.id);
    expect(done).toMatchObject({
      outcome: 'succeeded',
      counts: { tenantsSucceeded: 8 },
      pausedAt: null,
      pausedBy: null,
    });
    const { rows } = await h.database.pool.query(`SELECT action FROM audit_events WHERE target_id = $1 ORDER BY id`, [
      run.id,
    ]);
    expect(rows.map((row) => row.action)).toEqual([
      'runbook.started',
      'runbook.paused',
      'runbook.resumed',
      'runbook.completed',
    ]);
  });

  it('stays paused across continue-as-new, and succeeds after resume', async () => {
    await unflagFindings(h.database.pool);
    // A canary of 2 with continue-as-new after 2: the run pauses itself, then continues as new.
    const { run } = await h.start({ kind: 'all_tenants' }, { guards: { canary: { count: 2 } } });
    const continued = await until(
      () => queryRunProgress(h.client, run.id),
      (p) => p.continuedAsNew >= 1,
      'the paused run to continue as new',
    );
    expect(continued).toMatchObject({ paused: true, pausedBy: 'the run itself', running: 0, tenantsDone: 2 });
    // Once idle it is still paused, and no tenant past the canary has begun.
    await untilIdle(run);
    expect(await queryRunProgress(h.client, run.id)).toMatchObject({ paused: true, running: 0, tenantsDone: 2 });
    const begun = (await getRunItems(h.database.pool, run.id)).filter((item) => item.status !== 'pending');
    expect(begun).toHaveLength(2);
    await control(run, 'resume');
    expect(await waitForRun(h.database.pool, run.id)).toMatchObject({
      outcome: 'succeeded',
      counts: { tenantsSucceeded: 8 },
    });
  });

  it('cancels: children stop, the run completes as cancelled with one notification', async () => {
    await unflagFindings(h.database.pool);
    const { run } = await h.start({ kind: 'all_tenants' });
    await until(
      () => queryRunProgress(h.client, run.id),
      (p) => p.running > 0,
      'a child to start',
    );
    await control(run, 'cancel');
    const done = await waitForRun(h.database.pool, run.id);
    expect(done.outcome).toBe('cancelled');
    const statuses = (await getRunItems(h.database.pool, run.id)).map((item) => item.status);
    expect(statuses).toContain('cancelled');
    expect(statuses.filter((s) => s === 'succeeded').length).toBeLessThan(8);
    expect(statuses).not.toContain('running');
    expect(statuses).not.toContain('pending');
    const { rows } = await h.database.pool.query(
      `SELECT data ->> 'outcome' AS outcome FROM notifications WHERE data ->> 'runId' = $1`,
      [run.id],
    );
    expect(rows).toEqual([{ outcome: 'cancelled' }]);
    const { rows: audit } = await h.database.pool.query(
      `SELECT action FROM audit_events WHERE target_id = $1 ORDER BY id`,
      [run.id],
    );
    expect(audit.map((row) => row.action)).toEqual([
      'runbook.started',
      'runbook.cancel_requested',
      'runbook.cancelled',
    ]);
  });

  it('refuses with a code: no capability (whatever the source), unknown, completed, single-tenant, not paused', async () => {
    await unflagFindings(h.database.pool);
    const single = (await h.start({ kind: 'tenants', externalIds: ['tenant-00001'] })).run;
    const viewer: Initiator = {
      kind: 'platform_user',
      id: 1,
      email: 'viewer@example.com',
      capabilities: ['platform.ops.runs.view'],
    };
    const asCli = controlRun(
      { pool: h.database.pool, launcher: h.launcher },
      { runId: single.id, initiator: viewer, source: 'cli' },
      'cancel',
    );
    expect(await refusalCode(asCli)).toBe('capability');
    expect(await refusalCode(control(single, 'pause'))).toBe('not_pausable');
    expect(await refusalCode(control({ id: 'nope' }, 'cancel'))).toBe('run_not_found');
    expect(await refusalCode(control({ id: '00000000-0000-4000-8000-000000000000' }, 'cancel'))).toBe('run_not_found');
    const done = await waitForRun(h.database.pool, single.id);
    expect(await refusalCode(control(done, 'cancel'))).toBe('run_completed');
    await expect(control({ id: done.id.toUpperCase() }, 'cancel')).rejects.toThrow(/already completed \(succeeded\)/);

    const multi = (await h.start({ kind: 'tenants', externalIds: ['tenant-00002', 'tenant-00003'] })).run;
    expect(await refusalCode(control(multi, 'resume'))).toBe('not_paused');
    await control(multi, 'cancel');
    await waitForRun(h.database.pool, multi.id);
  });

  it('cancels a run whose workflow was terminated from outside, freeing its scope', async () => {
    await unflagFindings(h.database.pool);
    const { run } = await h.start({ kind: 'tenants', externalIds: ['tenant-00005'] });
    await until(
      () => batchesSoFar(run.id),
      (n) => n > 0,
      'a first batch',
    );
    await h.client.workflow.getHandle(run.workflowId!).terminate('an operator at the Temporal UI');
    expect(await getRun(h.database.pool, run.id)).toMatchObject({ status: 'running' });
    await control(run, 'cancel');
    expect(await getRun(h.database.pool, run.id)).toMatchObject({ status: 'completed', outcome: 'cancelled' });
    const again = await h.start({ kind: 'tenants', externalIds: ['tenant-00005'] });
    expect((await waitForRun(h.database.pool, again.run.id)).outcome).toBe('succeeded');
  });

  /** A run row as the starter writes it, before it launches the workflow. */
  async function queuedRun(
    externalId: string,
  ): Promise<{ run: RunRecord; preflight: Awaited<ReturnType<typeof runPreflight>> }> {
    const scope = { kind: 'tenants' as const, externalIds: [externalId] };
    const preflight = await runPreflight(h.database.pool, {
      runbook: getRunbook(RUNBOOK),
      scope,
      parameters: FLAG_PARAMETERS,
      initiator: h.operator,
    });
    const id = crypto.randomUUID();
    const { rows } = await h.database.pool.query(
      `SELECT id::int, workspace_id::int FROM tenants WHERE external_id = $1`,
      [externalId],
    );
    const run = await insertRun(h.database.pool, {
      id,
      workflowId: workflowIdFor(id),
      workspaceId: rows[0].workspace_id,
      runbook: RUNBOOK,
      scopeKind: 'tenant',
      scope: { tenants: [{ id: rows[0].id, externalId }] },
      parameters: preflight.parameters,
      asOf: preflight.asOf,
      source: 'cli',
      initiatorLabel: 'test',
      reason: 'queued run for a race',
      counts: {},
      preflightId: preflight.id,
    });
    return { run, preflight };
  }

  it('cancels a queued run whose workflow never started; a late launch then changes nothing', async () => {
    await unflagFindings(h.database.pool);
    const { run, preflight } = await queuedRun('tenant-00004');
    expect(await refusalCode(control(run, 'pause'))).toBe('not_pausable');
    await control(run, 'cancel');
    expect(await getRun(h.database.pool, run.id)).toMatchObject({ status: 'completed', outcome: 'cancelled' });

    // The starter that wrote the row goes on and launches it: the workflow sees a completed run and ends.
    await launchRun({ pool: h.database.pool, launcher: h.launcher }, run, preflight, {
      actor: { actorKind: 'cli', actorLabel: 'test' },
      source: 'cli',
    });
    const handle = h.client.workflow.getHandle(workflowIdFor(run.id));
    await handle.result();
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    expect(await getRun(h.database.pool, run.id)).toMatchObject({ status: 'completed', outcome: 'cancelled' });
    expect(await getRunItems(h.database.pool, run.id)).toEqual([]);
  });
});
