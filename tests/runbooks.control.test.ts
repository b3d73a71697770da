import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { getRunItems, type RunRecord } from '../src/runbooks/runs.js';
import { controlRun, type RunAction } from '../src/runbooks/control.js';
import { RunbookRefusal } from '../src/runbooks/refusal.js';
import { UserError } from '../src/errors.js';
import { runProgressQuery } from '../src/workflows/runbookFanOut.js';
import { useRunbookHarness } from './support/harness.js';
import { waitForRun } from './support/runs.js';

async function until<T>(probe: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await sleep(100);
  }
}

describe('pausing, resuming and cancelling a multi-tenant run', () => {
  const h = useRunbookHarness({ seed: { tenants: 12, findingsPerTenant: 200, seed: 13 }, settings: { batchSize: 10, childParallelism: 2 } });

  async function startAllTenants(): Promise<RunRecord> {
    return (await h.start({ kind: 'all_tenants' })).run;
  }

  const control = (run: RunRecord, action: RunAction, initiator = h.operator) =>
    controlRun({ pool: h.database.pool, temporal: h.client }, { runId: run.id, initiator, source: 'system_ui' }, action);

  it('starts no new tenant while paused and finishes after resume', async () => {
    const run = await startAllTenants();
    const handle = h.client.workflow.getHandle(run.workflowId!);
    await until(() => handle.query(runProgressQuery), (p) => p.running > 0, 'a child to start');
    await control(run, 'pause');
    const drained = await until(() => handle.query(runProgressQuery), (p) => p.paused && p.running === 0, 'the children to drain');
    await sleep(1_500);
    const still = await handle.query(runProgressQuery);
    expect(still.tenantsDone + still.tenantsFailed).toBe(drained.tenantsDone + drained.tenantsFailed);
    expect(still.tenantsDone).toBeLessThan(12);

    await control(run, 'resume');
    const done = await waitForRun(h.database.pool, run.id);
    expect(done).toMatchObject({ outcome: 'succeeded', counts: { tenantsSucceeded: 12 } });
  });

  it('cancels: children stop, the run completes as cancelled with one notification', async () => {
    // Undo the first test's rebuild so that there is work to interrupt.
    await h.database.pool.query('UPDATE findings SET lifecycle_version = 0');
    const run = await startAllTenants();
    const handle = h.client.workflow.getHandle(run.workflowId!);
    await until(() => handle.query(runProgressQuery), (p) => p.running > 0, 'a child to start');
    await control(run, 'cancel');
    const done = await waitForRun(h.database.pool, run.id);
    expect(done.outcome).toBe('cancelled');
    const statuses = (await getRunItems(h.database.pool, run.id)).map((item) => item.status);
    expect(statuses).toContain('cancelled');
    expect(statuses.filter((s) => s === 'succeeded').length).toBeLessThan(12);
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
    expect(audit.map((row) => row.action)).toEqual(['runbook.started', 'runbook.cancel_requested', 'runbook.cancelled']);
  });

  it('refuses without the manage capability, and for completed or single-tenant runs', async () => {
    const { rows } = await h.database.pool.query(`SELECT id FROM operation_runs WHERE outcome = 'succeeded' LIMIT 1`);
    const completed = { id: rows[0].id } as RunRecord;
    const viewer = { kind: 'platform_user', id: 1, email: 'viewer@example.com', capabilities: ['platform.ops.runs.view'] } as const;
    await expect(control(completed, 'cancel', viewer)).rejects.toThrow(RunbookRefusal);
    await expect(control(completed, 'cancel')).rejects.toThrow(/is already completed \(succeeded\); there is nothing to cancel/);
    const single = (await h.start({ kind: 'tenants', externalIds: ['tenant-00001'] })).run;
    await expect(control(single, 'pause')).rejects.toThrow(/covers one tenant; only multi-tenant runs can pause/);
    await expect(control({ id: 'nope' } as RunRecord, 'cancel')).rejects.toThrow(UserError);
    await waitForRun(h.database.pool, single.id);
  });

  it('cancels a queued run whose workflow never started', async () => {
    const { rows } = await h.database.pool.query(
      `INSERT INTO operation_runs (workspace_id, runbook, scope_kind, scope, source, initiator_label, reason, workflow_id)
       SELECT workspace_id, 'findings.lifecycle.rebuild', 'tenant', '{"tenants":[]}', 'cli', 'test', 'orphaned start', 'runbook-run-missing'
         FROM tenants WHERE external_id = 'tenant-00002' RETURNING id`,
    );
    await control({ id: rows[0].id } as RunRecord, 'cancel');
    expect(await waitForRun(h.database.pool, rows[0].id)).toMatchObject({ status: 'completed', outcome: 'cancelled' });
  });
});
