import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type pg from 'pg';
import { inTransaction } from '../db/transaction.js';
import { completeRun } from '../runbooks/completeRun.js';
import { startDeployRun, type DeployStart } from '../runbooks/deployRun.js';
import { pauseRunItself } from '../runbooks/pauseItself.js';
import { DEFAULT_GATES, formatGateDuration, type GateSettings } from '../runbooks/health/gateSettings.js';
import type { HealthMonitor } from '../runbooks/health/healthMonitor.js';
import type { HealthSnapshot } from '../runbooks/health/healthSnapshot.js';
import { judgeHealth, type HealthVerdict } from '../runbooks/health/judgeHealth.js';
import { describeLockWait, isLockTimeout } from '../runbooks/health/lockWait.js';
import { recordHold, releaseHold } from '../runbooks/health/runHolds.js';
import { getRunbook } from '../runbooks/registry.js';
import {
  isSettled,
  itemProgress,
  progressOf,
  itemTenants,
  lockItemCounts,
  materializeRunItems,
  nextItemTenants,
  refreshRunCounts,
  saveItemCounts,
  settleItem,
} from '../runbooks/runItems.js';
import type { TenantProgress } from '../runbooks/runItems.js';
import { persistTransition } from '../runbooks/runStatus.js';
import type { StartDeps } from '../runbooks/start.js';
import { expireChangeRequest } from '../runbooks/approvals/decideChange.js';
import { runWindowState, waitForWindow, windowOpened, type WindowVerdict } from '../runbooks/windows/runWindows.js';
import { classifyFailures } from './failures.js';
import type { RunOutcome, TenantCounts } from '../runbooks/model.js';
import { UNOBSERVED, type GateName, type RunObserver } from '../runbooks/runObserver.js';
import {
  afterBatch,
  afterTimeout,
  initialSizing,
  isStatementTimeout,
  statementTimeoutMs,
  type SizeBounds,
} from '../runbooks/sizing/batchSizer.js';
import { sizeBounds } from '../runbooks/sizing/runSizing.js';

export interface ActivityDeps {
  pool: pg.Pool;
  /** The worker's view of the database's health, which every batch consults first. */
  health: HealthMonitor;
  /** Told of every batch and every second held (the worker's metrics); nobody, by default. */
  observer?: RunObserver;
  /** How long tenant work retries through an outage; see `Config.outageWindowMs`. */
  outageWindowMs: number;
  /** The shared starter's dependencies, for the runs the deploy workflow starts. */
  starter: StartDeps;
  /** How long a change window's minute lasts (`Config.windowMinuteMs`). */
  windowMinuteMs: number;
}

function addBreakdown(into: Record<string, number>, add: Record<string, number>): Record<string, number> {
  const sum = { ...into };
  for (const [key, value] of Object.entries(add)) sum[key] = (sum[key] ?? 0) + value;
  return sum;
}

/** The run's own records: they must get through any outage, so they retry without limit. */
function bookkeepingActivities(pool: pg.Pool, starter: StartDeps, windowMinuteMs: number) {
  return {
    /** One runbook of a release, through the shared starter (idempotent by its key). */
    async startDeployRun(release: string, runbook: string): Promise<DeployStart> {
      return startDeployRun(starter, release, runbook);
    },

    /**
     * queued → running and one pending item per tenant in scope; returns the item count, or
     * null when the run was completed before its workflow began (cancelled while queued).
     */
    async beginRun(runId: string): Promise<{ tenants: number } | null> {
      return inTransaction(pool, async (client) => {
        const { rows } = await client.query<{ status: string }>(
          'SELECT status FROM operation_runs WHERE id = $1 FOR UPDATE',
          [runId],
        );
        if (rows[0]?.status === 'completed') return null;
        await persistTransition(client, runId, 'running');
        const tenants = await materializeRunItems(client, runId);
        await refreshRunCounts(client, runId);
        return { tenants };
      });
    },

    async nextRunTenants(runId: string, cursor: number, limit: number) {
      return nextItemTenants(pool, runId, cursor, limit);
    },

    /** The run's tenants with these ids, in the order given (a named canary wave). */
    async runItemTenants(runId: string, tenantIds: number[]) {
      return itemTenants(pool, runId, tenantIds);
    },

    async pauseRunItself(runId: string, pause: { by: string; reason: string }): Promise<void> {
      await pauseRunItself(pool, runId, pause);
    },

    async settleRunItem(runId: string, tenantId: number, status: 'failed' | 'cancelled', error: string): Promise<void> {
      await settleItem(pool, runId, tenantId, status, error);
    },

    async refreshRunCounts(runId: string): Promise<void> {
      await refreshRunCounts(pool, runId);
    },

    async completeRun(runId: string, options: { outcome?: RunOutcome; error?: string | null } = {}) {
      return completeRun(pool, runId, options);
    },

    /** Whether the run may start a tenant now under the change windows, until when, or when it may next. */
    async windowState(runId: string): Promise<WindowVerdict> {
      return runWindowState(pool, runId, windowMinuteMs);
    },

    /** The run waits for a window: queued, or paused at the cutoff `by` its workflow. */
    async waitForWindow(runId: string, wait: { opensAt: number | null; by?: string }): Promise<void> {
      await waitForWindow(pool, runId, wait);
    },

    async windowOpened(runId: string): Promise<void> {
      await windowOpened(pool, runId);
    },

    /** A change request's deadline came: expired unless it was decided first. */
    async expireChangeRequest(changeRequestId: string): Promise<boolean> {
      return expireChangeRequest(pool, changeRequestId);
    },
  };
}

/** What one call of `processTenant` got to. */
export interface TenantStep extends TenantProgress {
  /** The item has its verdict (succeeded, failed or cancelled): there is nothing more to do. */
  settled: boolean;
  /** The run is paused: no new batch until it resumes. */
  paused: boolean;
  /** A health gate holds the run (what it waits for): the tenant takes its next batch once it clears. */
  held?: string;
  /** A critical threshold is crossed (which): the run must pause for an operator. */
  critical?: string;
}

/** How long a held tenant waits before it asks the gates again. */
const HOLD_RECHECK_MS = 1_000;

/** The gates' verdict on a snapshot; without one (it could not be read), they stand aside. */
const judged = (snapshot: HealthSnapshot | null, gates: GateSettings): HealthVerdict =>
  snapshot ? judgeHealth(snapshot, gates) : { level: 'clear' };

/** One tenant's work: bounded by the outage window, and its business failures are counted. */
function tenantWorkActivities(pool: pg.Pool, health: HealthMonitor, observer: RunObserver) {
  /**
   * Takes one tenant as far as it gets within the time budget: starts its item, takes batches
   * until none is left, then verifies and settles it. A small tenant is done in one call and
   * one transaction. Each batch and the item's counts and cursor commit together, so a retry
   * (worker killed, timeout) resumes after the last committed batch and never counts a row
   * twice; a settled item is left as it is. A cancellation (learnt through the heartbeat
   * after each batch) stops it at the next batch boundary, and a paused run at the next batch.
   * Before each batch the health gates have their say: a hold (or a batch that waited for a
   * lock longer than the lock timeout, rolled back) records the hold on the run and asks again
   * a second later; a critical threshold returns at once, for the workflow to pause the run.
   * A batch sized by itself that runs into its statement timeout is rolled back and split.
   */
  async function processTenant(
    input: TenantBatchInput & { timeBudgetMs: number; gates?: GateSettings },
  ): Promise<TenantStep> {
    const context = Context.current();
    const deadline = Date.now() + input.timeBudgetMs;
    const gates = input.gates ?? DEFAULT_GATES;
    const { tables } = getRunbook(input.runbook);
    // Whether this call has held the tenant already: its item is then running and marked held.
    let holding = false;
    for (;;) {
      if (context.cancellationSignal.aborted) throw new CancelledFailure('tenant processing cancelled');
      let verdict = judged(await health.snapshot(tables), gates);
      // A pause waits for an operator: it is decided on the database as it is now, not as it was
      // up to two seconds ago (an operator may have just resumed the run after fixing it).
      if (verdict.level === 'critical') verdict = judged(await health.snapshot(tables, { fresh: true }), gates);
      if (verdict.level === 'critical') {
        const progress = await itemProgress(pool, input.runId, input.tenantId);
        return { ...progress, settled: false, paused: false, critical: verdict.reason };
      }
      let held: string;
      let heldBy: readonly GateName[];
      if (verdict.level === 'hold') ({ reason: held, gates: heldBy } = verdict);
      else {
        try {
          const { step, batch } = await inTransaction(pool, (client) =>
            takeTenantBatch(client, input, gates.lockTimeoutMs),
          );
          if (batch) observer.batchDone({ runbook: input.runbook, ...batch });
          // A local activity has no heartbeat: it is short, and the workflow task it runs in waits for it.
          if (!context.info.isLocal) context.heartbeat(step);
          if (step.settled || step.paused || Date.now() >= deadline) return step;
          continue;
        } catch (error) {
          if (isStatementTimeout(error) && input.batchTargetMs !== undefined) {
            await inTransaction(pool, (client) => splitBatch(client, input));
            continue;
          }
          if (!isLockTimeout(error)) throw error;
          held = await describeLockWait(pool, tables);
          heldBy = ['lock_timeout'];
        }
      }
      await inTransaction(pool, async (client) => {
        await recordHold(client, input.runId, input.tenantId, held);
        // Its work has begun, and waits: the tenant is running, not pending.
        if (!holding) await settleItem(client, input.runId, input.tenantId, 'running');
      });
      holding = true;
      const step = { ...(await itemProgress(pool, input.runId, input.tenantId)), settled: false, paused: false, held };
      if (!context.info.isLocal) context.heartbeat(step);
      if (Date.now() + HOLD_RECHECK_MS >= deadline) return step;
      await context.sleep(HOLD_RECHECK_MS);
      observer.held({ runbook: input.runbook, gates: heldBy, ms: HOLD_RECHECK_MS });
    }
  }
  return {
    processTenant,
    /**
     * Deprecated: `processTenant`'s name before the engine ran more than one runbook. Tenant
     * workflows started before the rename go on scheduling it (`BATCH_ACTIVITY_RENAMED` in
     * src/workflows/runbookTenant.ts), and tasks already queued under it still need a worker.
     * Remove both in the next release.
     */
    rebuildTenant: processTenant,
  };
}

interface TenantBatchInput {
  runId: string;
  runbook: string;
  tenantId: number;
  /** Rows per batch; where the run sizes its batches itself, where a tenant with no sizing yet starts. */
  batchSize: number;
  /** Present when the run sizes its batches itself: the duration it aims each at. */
  batchTargetMs?: number;
}

/**
 * Where a tenant's batch size stands, for a run that sizes its batches itself: its own, or where
 * the run's newest sizing is (its next tenant need not learn it again), or the run's starting size.
 */
function tenantSizing(counts: TenantCounts, runBatchSize: number | null, input: TenantBatchInput, bounds: SizeBounds) {
  return counts.sizing ?? initialSizing(runBatchSize ?? input.batchSize, bounds, Date.now());
}

/**
 * A batch ran into its statement timeout and was rolled back: the tenant's next batch is half
 * its size. One already at the runbook's smallest size fails the attempt, naming the timeout.
 */
async function splitBatch(client: pg.PoolClient, input: TenantBatchInput): Promise<void> {
  const { counts, runBatchSize } = await lockItemCounts(client, input.runId, input.tenantId);
  const bounds = sizeBounds(getRunbook(input.runbook));
  const sizing = tenantSizing(counts, runBatchSize, input, bounds);
  const timeoutMs = statementTimeoutMs(input.batchTargetMs!);
  const split = afterTimeout(sizing, bounds, timeoutMs, Date.now());
  if (!split) {
    throw new Error(
      `A batch of ${sizing.size} rows, the smallest this runbook allows, ran past its statement timeout (${formatGateDuration(timeoutMs)}).`,
    );
  }
  await saveItemCounts(client, input.runId, input.tenantId, { ...counts, sizing: split });
}

/**
 * The next batch of a tenant, in the caller's transaction, with its item locked. After the
 * last batch the tenant is verified in the same transaction: a read-only recount of all its
 * rows, and the item succeeds only when nothing is left to change.
 */
async function takeTenantBatch(
  client: pg.PoolClient,
  input: TenantBatchInput,
  lockTimeoutMs: number,
): Promise<{ step: TenantStep; batch?: { ms: number; examined: number; changed: number } }> {
  const { runId, tenantId } = input;
  const { status, counts, runPaused, held, runBatchSize, context } = await lockItemCounts(client, runId, tenantId);
  // Once a run says a tenant is done, its data stays put.
  if (isSettled(status)) {
    return { step: { ...(await itemProgress(client, runId, tenantId)), settled: true, paused: false } };
  }
  if (status === 'pending') await settleItem(client, runId, tenantId, 'running');
  // A paused run takes no new batch; the workflow waits for the resume. Its totals are brought
  // up to date, since nothing refreshes them while it waits.
  if (runPaused) {
    await refreshRunCounts(client, runId);
    return { step: { ...progressOf(tenantId, 'running', counts), settled: false, paused: true } };
  }
  // The gates let this batch go: this tenant's hold ends now (the run's, with its last held tenant's).
  if (held) await releaseHold(client, runId, tenantId);
  // The batch's statements wait this long for a lock, and no longer (its item's lock is taken).
  await client.query(`SET LOCAL lock_timeout = ${Math.round(lockTimeoutMs)}`);
  const runbook = getRunbook(input.runbook);
  const bounds = sizeBounds(runbook);
  const { batchTargetMs } = input;
  // Sized by itself: the tenant's own size, and a statement that runs far past its aim is split.
  const sizing = batchTargetMs === undefined ? undefined : tenantSizing(counts, runBatchSize, input, bounds);
  if (batchTargetMs !== undefined) {
    await client.query(`SET LOCAL statement_timeout = ${statementTimeoutMs(batchTargetMs)}`);
  }
  const began = Date.now();
  const batch = await runbook.processBatch(
    client,
    { runId, tenantId, cursor: counts.cursor, batchSize: sizing?.size ?? input.batchSize },
    context,
  );
  const ms = Date.now() - began;
  let next = counts;
  if (batch) {
    next = {
      ...counts,
      examined: counts.examined + batch.examined,
      changed: counts.changed + batch.changed,
      batches: counts.batches + 1,
      breakdown: addBreakdown(counts.breakdown, batch.breakdown),
      cursor: batch.cursor,
      spentMs: { ...counts.spentMs, batches: (counts.spentMs?.batches ?? 0) + ms },
      ...(sizing && { sizing: afterBatch(sizing, { rows: batch.examined, ms }, batchTargetMs!, bounds, Date.now()) }),
    };
  }
  const done = batch ? { ms, examined: batch.examined, changed: batch.changed } : undefined;
  if (batch && !batch.last) {
    await saveItemCounts(client, runId, tenantId, next);
    return { step: { ...progressOf(tenantId, 'running', next), settled: false, paused: false }, batch: done };
  }
  // The recount reads all the tenant's rows: it is no batch, and takes as long as it takes.
  if (batchTargetMs !== undefined) await client.query('SET LOCAL statement_timeout TO DEFAULT');
  const verifying = Date.now();
  const remaining = await runbook.remainingToChange(client, tenantId, context);
  next = {
    ...next,
    verified: remaining === 0,
    remaining,
    spentMs: { ...next.spentMs, verification: Date.now() - verifying },
  };
  const verdict = remaining === 0 ? 'succeeded' : 'failed';
  const error = remaining === 0 ? null : `Verification found ${remaining} row(s) still to change after its batches.`;
  await saveItemCounts(client, runId, tenantId, next);
  await settleItem(client, runId, tenantId, verdict, error);
  return { step: { ...progressOf(tenantId, verdict, next, error), settled: true, paused: false }, batch: done };
}

/**
 * The activities the runbook workflows call. Each is idempotent: Temporal delivers at least
 * once, so every write is a checked transition, an upsert, or counts derived from items.
 */
export function createActivities({
  pool,
  health,
  observer = UNOBSERVED,
  outageWindowMs,
  starter,
  windowMinuteMs,
}: ActivityDeps) {
  return {
    ...classifyFailures(bookkeepingActivities(pool, starter, windowMinuteMs), null),
    ...classifyFailures(tenantWorkActivities(pool, health, observer), outageWindowMs),
  };
}

export type RunbookActivities = ReturnType<typeof createActivities>;
