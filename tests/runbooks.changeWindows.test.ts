// Change windows (#24), on real workflows: a start outside its allowed time waits on a durable timer,
// a running run pauses itself at the cutoff and goes on in the next window, waits can be cancelled,
// and a worker restart changes nothing. A window's minute lasts a second here (CHANGE_WINDOW_MINUTE).
process.env.CHANGE_WINDOW_MINUTE = '1s';

import type { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CAPABILITIES } from '../src/runbooks/capabilities.js';
import { approveChange } from '../src/runbooks/approvals/decideChange.js';
import { controlRun } from '../src/runbooks/control.js';
import { ALL_TENANTS_PHRASE } from '../src/runbooks/model.js';
import { runPreflight } from '../src/runbooks/preflight.js';
import { getRunbook } from '../src/runbooks/registry.js';
import { startRunbook } from '../src/runbooks/start.js';
import type { Initiator } from '../src/runbooks/initiator.js';
import { WINDOW_CLOSED } from '../src/runbooks/model.js';
import { WINDOW_PAUSER } from '../src/workflows/queries.js';
import { progressText } from '../src/runbooks/progressText.js';
import { getRun, type RunRecord } from '../src/runbooks/runs.js';
import { createChangeWindow, type WindowDefinition } from '../src/runbooks/windows/changeWindows.js';
import { expectEveryTenantFlagged, loadFindings, unflagFindings } from './support/flagOracle.js';
import { FLAG_PARAMETERS, RUNBOOK, useRunbookHarness } from './support/harness.js';
import { refusalOf } from './support/refusal.js';
import { createOperator, tenantIds, waitForRun } from './support/runs.js';
import { slowBatches } from './support/slowBatches.js';
import { testWorker } from './support/temporal.js';
import { until } from './support/until.js';

/** A one-off window opening `inMs` from now: an ISO date-time in UTC, to the second. */
const oneOff = (inMs: number) => new Date(Date.now() + inMs).toISOString().slice(0, 19);

describe('change windows', () => {
  const h = useRunbookHarness({
    seed: { tenants: 4, findingsPerTenant: 60, seed: 241 },
    settings: { batchSize: 10, childParallelism: 1 },
    worker: false,
  });
  let worker: { worker: Worker; connection: NativeConnection; running: Promise<void> } | undefined;
  const startWorker = async () => {
    const started = await testWorker(h.config, h.database.pool);
    worker = { ...started, running: started.worker.run() };
  };
  const stopWorker = async () => {
    worker?.worker.shutdown();
    await worker?.running;
    await worker?.connection.close();
    worker = undefined;
  };
  beforeAll(startWorker);
  afterAll(stopWorker);
  afterEach(() => h.database.pool.query('DELETE FROM change_windows'));

  const define = (window: Partial<WindowDefinition> & Pick<WindowDefinition, 'kind' | 'schedule'>) =>
    createChangeWindow(h.database.pool, {
      initiator: h.operator,
      window: { durationMinutes: 6, timeZone: 'UTC', description: 'A window of the engine tests', ...window },
    });
  const all = { kind: 'all_tenants' } as const;
  const paused = (run: RunRecord | null) => run?.pausedBy === WINDOW_PAUSER;
  const trail = async (runId: string) =>
    (
      await h.database.pool.query<{ action: string; actor: string }>(
        `SELECT action, actor_label AS actor FROM audit_events WHERE target_id = $1 ORDER BY id`,
        [runId],
      )
    ).rows;

  it('a start inside a deny window waits, queued, and starts when the window ends', async () => {
    await unflagFindings(h.database.pool);
    const before = await loadFindings(h.database.pool, await tenantIds(h.database.pool));
    const window = await define({ kind: 'deny', schedule: oneOff(-1_000), durationMinutes: 6 });
    const { run } = await h.start(all);
    const waiting = await until(
      () => getRun(h.database.pool, run.id),
      (found) => found?.windowOpensAt != null,
      'the run to wait for the window',
    );
    expect(waiting!.status).toBe('queued');
    const opensAt = waiting!.windowOpensAt!;
    expect(opensAt.getTime() - (window.createdAt.getTime() - 1_000)).toBeGreaterThanOrEqual(5_000);
    expect(progressText(waiting!, 'findings')).toBe(
      `Queued: waits for the window that opens at ${opensAt.toISOString().slice(0, 19).replace('T', ' ')} UTC.`,
    );
    const done = await waitForRun(h.database.pool, run.id);
    expect(done.outcome).toBe('succeeded');
    expect(done.startedAt!.getTime()).toBeGreaterThanOrEqual(opensAt.getTime());
    expect(done.windowOpensAt).toBeNull();
    await expectEveryTenantFlagged(h.database.pool, done, before);
  });

  it('a run crossing the cutoff pauses with the reason and goes on in the next window, with exact counts', async () => {
    await unflagFindings(h.database.pool);
    const before = await loadFindings(h.database.pool, await tenantIds(h.database.pool));
    const restore = await slowBatches(h.database.pool, 400);
    try {
      // Every 15 s, for 10 s, with a cutoff of 4 s: tenants start in the first 6 s of each 15.
      await define({ kind: 'allow', schedule: '*/15 * * * * *', durationMinutes: 10, cutoffMinutes: 4 });
      const { run } = await h.start(all);
      const held = await until(
        () => getRun(h.database.pool, run.id),
        (found) => found?.status === 'running' && paused(found),
        'the run to pause at the cutoff',
        60_000,
      );
      expect(held).toMatchObject({ pauseReason: WINDOW_CLOSED });
      expect(progressText(held!, 'findings')).toMatch(
        /^Paused by the change window: .*; goes on when the window opens at .+ UTC\.$/,
      );
      const opensAt = held!.windowOpensAt!.getTime();
      expect(opensAt % 15_000).toBe(0);
      const resumed = await until(
        () => getRun(h.database.pool, run.id),
        (found) => found?.status === 'completed' || (found?.status === 'running' && !paused(found)),
        'the run to go on in the next window',
        60_000,
      );
      expect(Date.now()).toBeGreaterThanOrEqual(opensAt);
      expect(resumed!.windowOpensAt).toBeNull();
      const done = await waitForRun(h.database.pool, run.id, 180_000);
      expect(done.outcome).toBe('succeeded');
      await expectEveryTenantFlagged(h.database.pool, done, before);
      const actions = await trail(run.id);
      expect(actions).toContainEqual({ action: 'runbook.paused', actor: WINDOW_PAUSER });
      expect(actions).toContainEqual({ action: 'runbook.resumed', actor: WINDOW_PAUSER });
    } finally {
      await restore();
    }
  }, 240_000);

  it('a run waiting for a window can be cancelled', async () => {
    await define({ kind: 'deny', schedule: oneOff(-1_000), durationMinutes: 600 });
    const { run } = await h.start({ kind: 'tenants', externalIds: ['tenant-00002'] });
    await until(
      () => getRun(h.database.pool, run.id),
      (found) => found?.windowOpensAt != null,
      'the run to wait for the window',
    );
    await controlRun(
      { pool: h.database.pool, launcher: h.launcher },
      { runId: run.id, initiator: h.operator, source: 'cli' },
      'cancel',
    );
    const done = await waitForRun(h.database.pool, run.id, 30_000);
    expect(done).toMatchObject({ outcome: 'cancelled', startedAt: null });
  });

  it('a worker restart while a run waits for a window changes nothing', async () => {
    await unflagFindings(h.database.pool);
    const before = await loadFindings(h.database.pool, await tenantIds(h.database.pool));
    await define({ kind: 'deny', schedule: oneOff(-1_000), durationMinutes: 8 });
    const { run } = await h.start(all);
    const waiting = await until(
      () => getRun(h.database.pool, run.id),
      (found) => found?.windowOpensAt != null,
      'the run to wait for the window',
    );
    await stopWorker();
    await startWorker();
    const done = await waitForRun(h.database.pool, run.id);
    expect(done.outcome).toBe('succeeded');
    expect(done.startedAt!.getTime()).toBeGreaterThanOrEqual(waiting!.windowOpensAt!.getTime());
    await expectEveryTenantFlagged(h.database.pool, done, before);
  });

  it('a run the window paused goes on outside it only by an override, with a reason, audited', async () => {
    await unflagFindings(h.database.pool);
    const restore = await slowBatches(h.database.pool, 150);
    try {
      // A freeze beginning 3 s after the start, for 10 minutes: the run pauses as it begins.
      await define({ kind: 'deny', schedule: oneOff(3_000), durationMinutes: 600 });
      const { run } = await h.start(all);
      await until(
        () => getRun(h.database.pool, run.id),
        (found) => found?.status === 'running' && paused(found),
        'the run to pause as the freeze begins',
        60_000,
      );
      const control = (initiator: Initiator, reason?: string) =>
        controlRun(
          { pool: h.database.pool, launcher: h.launcher },
          { runId: run.id, initiator, source: 'system_ui', ...(reason ? { reason } : {}) },
          'resume',
        );
      const operator = h.operator as Extract<Initiator, { kind: 'platform_user' }>;
      const lacking: Initiator = {
        ...operator,
        capabilities: operator.capabilities.filter((capability) => capability !== CAPABILITIES.windowsOverride),
      };
      expect((await refusalOf(control(lacking, 'Customer escalation needs it now'))).code).toBe('capability');
      expect((await refusalOf(control(h.operator))).code).toBe('reason_length');
      await control(h.operator, 'Customer escalation needs it now');
      const done = await waitForRun(h.database.pool, run.id, 180_000);
      expect(done.outcome).toBe('succeeded');
      expect(await trail(run.id)).toContainEqual({
        action: 'runbook.window_overridden',
        actor: operator.email,
      });
    } finally {
      await restore();
    }
  }, 240_000);

  it('an all-tenants run: requested, approved by a second operator, held by a window, paused at the cutoff, resumed in the next', async () => {
    await unflagFindings(h.database.pool);
    const before = await loadFindings(h.database.pool, await tenantIds(h.database.pool));
    const restore = await slowBatches(h.database.pool, 400);
    try {
      await define({ kind: 'allow', schedule: '*/15 * * * * *', durationMinutes: 10, cutoffMinutes: 4 });
      const deps = {
        pool: h.database.pool,
        launcher: h.launcher,
        approvals: { policy: { when: 'all_tenants', approvals: 1 } as const, ttlMs: 3600_000 },
      };
      const preflight = await runPreflight(h.database.pool, {
        runbook: getRunbook(RUNBOOK),
        scope: all,
        parameters: FLAG_PARAMETERS,
        initiator: h.operator,
      });
      const filed = await startRunbook(deps, {
        runbook: RUNBOOK,
        scope: all,
        parameters: FLAG_PARAMETERS,
        initiator: h.operator,
        reason: 'Flag every tenant, with an approval, inside the window',
        source: 'system_ui',
        confirmation: ALL_TENANTS_PHRASE,
        preflightId: preflight.id,
      });
      if (!('changeRequest' in filed)) throw new Error('the start was not held for approval');
      const approver = await createOperator(h.database.pool, `approver-${Date.now()}@example.com`);
      // Approved while the window is closed to new tenants, so that the run is held until it opens.
      await until(
        () => Promise.resolve(Date.now() % 15_000),
        (ms) => ms > 7_000 && ms < 12_000,
        'the window to close to new tenants',
        20_000,
      );
      const approval = await approveChange(deps, {
        changeRequestId: filed.changeRequest.id,
        by: approver,
        comment: 'Preflight sample checked against the ticket',
      });
      if (approval.state !== 'started') throw new Error(`the approval did not start the run: ${approval.state}`);
      const runId = approval.run.id;
      const held = await until(
        () => getRun(h.database.pool, runId),
        (found) => found?.windowOpensAt != null,
        'the run to wait for the window',
      );
      expect(held!.status).toBe('queued');
      expect(held!.windowOpensAt!.getTime() % 15_000).toBe(0);
      await until(
        () => getRun(h.database.pool, runId),
        (found) => found?.status === 'running' && paused(found),
        'the run to pause at the cutoff',
        60_000,
      );
      const done = await waitForRun(h.database.pool, runId, 180_000);
      expect(done).toMatchObject({ outcome: 'succeeded', approvedBy: [(approver as { email: string }).email] });
      await expectEveryTenantFlagged(h.database.pool, done, before);
      const { rows } = await h.database.pool.query<{ action: string; actor: string }>(
        `SELECT action, actor_label AS actor FROM audit_events
          WHERE target_id IN ($1, $2) AND action NOT LIKE '%preflight%' ORDER BY id`,
        [filed.changeRequest.id, runId],
      );
      const operator = (h.operator as { email: string }).email;
      const trail = rows.map((row) => `${row.action} by ${row.actor}`);
      expect(trail.slice(0, 3)).toEqual([
        `change.requested by ${operator}`,
        `change.approved by ${(approver as { email: string }).email}`,
        `runbook.started by ${operator}`,
      ]);
      expect(trail).toContain(`runbook.paused by ${WINDOW_PAUSER}`);
      expect(trail.indexOf(`runbook.resumed by ${WINDOW_PAUSER}`)).toBeGreaterThan(
        trail.indexOf(`runbook.paused by ${WINDOW_PAUSER}`),
      );
      expect(trail.at(-1)).toMatch(/^runbook\.completed by /);
    } finally {
      await restore();
    }
  }, 240_000);
});
