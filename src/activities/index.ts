import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type pg from 'pg';
import { inTransaction } from '../db/transaction.js';
import { completeRun } from '../runbooks/completeRun.js';
import { startDeployRun, type DeployStart } from '../runbooks/deployRun.js';
import { pauseRunItself } from '../runbooks/pauseItself.js';
import { getRunbook } from '../runbooks/registry.js';
import {
  itemProgress,
  itemTenants,
  lockItemCounts,
  materializeRunItems,
  nextItemTenants,
  refreshRunCounts,
  saveItemCounts,
  settleItem,
} from '../runbooks/runItems.js';
import type { TenantProgress } from '../runbooks/runItems.js';
import { persistTransition, type RunOutcome } from '../runbooks/runStatus.js';
import type { StartDeps } from '../runbooks/start.js';
import { classifyFailures } from './failures.js';

export interface ActivityDeps {
  pool: pg.Pool;
  /** How long tenant work retries through an outage; see `Config.outageWindowMs`. */
  outageWindowMs: number;
  /** The shared starter's dependencies, for the runs the deploy workflow starts. */
  starter: StartDeps;
}

function addBreakdown(into: Record<string, number>, add: Record<string, number>): Record<string, number> {
  const sum = { ...into };
  for (const [key, value] of Object.entries(add)) sum[key] = (sum[key] ?? 0) + value;
  return sum;
}

/** The run's own records: they must get through any outage, so they retry without limit. */
function bookkeepingActivities(pool: pg.Pool, starter: StartDeps) {
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
        const { rows } = await client.query<{ status: string }>('SELECT status FROM operation_runs WHERE id = $1 FOR UPDATE', [runId]);
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
  };
}

/** One tenant's work: bounded by the outage window, and its business failures are counted. */
function tenantWorkActivities(pool: pg.Pool) {
  return {
    async beginRunItem(runId: string, tenantId: number): Promise<void> {
      await settleItem(pool, runId, tenantId, 'running');
    },

    /**
     * Takes batches of one tenant until it is done or the time budget is spent. Each batch and
     * the item's counts and cursor commit together, so a retry (worker killed, timeout) resumes
     * after the last committed batch and never counts a row twice. A cancellation (learnt
     * through the heartbeat after each batch) stops it at the next batch boundary.
     */
    async processTenantBatches(input: {
      runId: string;
      runbook: string;
      tenantId: number;
      batchSize: number;
      timeBudgetMs: number;
    }): Promise<TenantProgress & { done: boolean; paused?: boolean }> {
      const runbook = getRunbook(input.runbook);
      const context = Context.current();
      const deadline = Date.now() + input.timeBudgetMs;
      for (;;) {
        if (context.cancellationSignal.aborted) throw new CancelledFailure('tenant processing cancelled');
        let paused = false;
        const finished = await inTransaction(pool, async (client) => {
          const { status, counts, runPaused } = await lockItemCounts(client, input.runId, input.tenantId);
          // Settled items take no more batches: once a run says a tenant is done, its data stays put.
          if (status !== 'running') return true;
          // A paused run takes no new batch; the workflow waits for the resume. Its totals are
          // brought up to date, since nothing refreshes them while it waits.
          paused = runPaused;
          if (paused) {
            await refreshRunCounts(client, input.runId);
            return false;
          }
          const step = await runbook.processBatch(client, {
            tenantId: input.tenantId,
            cursor: counts.cursor,
            batchSize: input.batchSize,
          });
          if (!step) return true;
          await saveItemCounts(client, input.runId, input.tenantId, {
            examined: counts.examined + step.examined,
            changed: counts.changed + step.changed,
            batches: counts.batches + 1,
            breakdown: addBreakdown(counts.breakdown, step.breakdown),
            cursor: step.cursor,
          });
          return false;
        });
        const progress = await itemProgress(pool, input.runId, input.tenantId);
        context.heartbeat(progress);
        if (paused) return { ...progress, done: false, paused: true };
        if (finished || Date.now() >= deadline) return { ...progress, done: finished };
      }
    },

    /** Read-only recount; the item succeeds only when nothing is left to change. */
    async verifyTenant(runId: string, runbookId: string, tenantId: number): Promise<TenantProgress> {
      const remaining = await getRunbook(runbookId).remainingToChange(pool, tenantId);
      await inTransaction(pool, async (client) => {
        const { counts, runPaused } = await lockItemCounts(client, runId, tenantId);
        await saveItemCounts(client, runId, tenantId, { ...counts, verified: remaining === 0, remaining });
        await settleItem(
          client,
          runId,
          tenantId,
          remaining === 0 ? 'succeeded' : 'failed',
          remaining === 0 ? null : `Verification found ${remaining} row(s) still to change after the rebuild.`,
        );
        // A tenant that finishes while its run is paused is the last news for a while: show it.
        if (runPaused) await refreshRunCounts(client, runId);
      });
      return itemProgress(pool, runId, tenantId);
    },
  };
}

/**
 * The activities the runbook workflows call. Each is idempotent: Temporal delivers at least
 * once, so every write is a checked transition, an upsert, or counts derived from items.
 */
export function createActivities({ pool, outageWindowMs, starter }: ActivityDeps) {
  return {
    ...classifyFailures(bookkeepingActivities(pool, starter), null),
    ...classifyFailures(tenantWorkActivities(pool), outageWindowMs),
  };
}

export type RunbookActivities = ReturnType<typeof createActivities>;
