import { CancellationScope, condition, continueAsNew, defineQuery, executeChild, isCancellation, setHandler, workflowInfo } from '@temporalio/workflow';
import { failureMessage, ownRun, runbookActivities } from './activities.js';
import { FanOutState, type RunProgress } from './fanOutState.js';
import type { FanOutInput } from './inputs.js';
import { pauseSignal, preflightQuery, resumeSignal } from './queries.js';
import { runbookTenantWorkflow } from './runbookTenant.js';
import { runSearchAttributes } from './searchAttributes.js';

export const runProgressQuery = defineQuery<RunProgress>('progress');

const PAGE_SIZE = 100;
/** Run counts are derived from items; refreshing them more often than this buys nothing. */
const COUNTS_REFRESH_MS = 1_000;

/**
 * A multi-tenant run: one child workflow per tenant with bounded parallelism. A failed tenant
 * is recorded and the others go on. After `continueAsNewAfter` children it drains and
 * continues as new with its state, so ten thousand tenants stay far inside history limits.
 */
export async function runbookFanOutWorkflow(input: FanOutInput): Promise<RunProgress> {
  const { runId, settings } = input;
  const { bookkeeping } = runbookActivities(settings);
  const state = new FanOutState(input.carried);
  const childInput = { runId, runbook: input.runbook, settings, preflight: null, searchAttributes: input.searchAttributes, isRoot: false };
  setHandler(runProgressQuery, () => state.progress());
  setHandler(preflightQuery, () => input.preflight);
  setHandler(pauseSignal, ({ by }) => state.pause(by));
  setHandler(resumeSignal, () => state.resume());

  let lastRefresh = 0;
  async function refreshCounts(): Promise<void> {
    if (Date.now() - lastRefresh < COUNTS_REFRESH_MS) return;
    lastRefresh = Date.now();
    await bookkeeping.refreshRunCounts(runId);
  }

  async function runTenant(tenant: { tenantId: number; externalId: string }): Promise<void> {
    try {
      const result = await executeChild(runbookTenantWorkflow, {
        workflowId: `${workflowInfo().workflowId}/tenant-${tenant.tenantId}`,
        args: [{ ...childInput, tenantId: tenant.tenantId }],
        typedSearchAttributes: input.searchAttributes ? runSearchAttributes(runId, input.runbook, tenant.externalId) : [],
      });
      state.recordTenant(result.status === 'succeeded');
    } catch (error) {
      if (isCancellation(error)) throw error;
      // The child itself failed (not just its work): record it here so the item is settled.
      state.recordTenant(false);
      await bookkeeping.settleRunItem(runId, tenant.tenantId, 'failed', failureMessage(error));
    } finally {
      state.running.delete(tenant.tenantId);
    }
    await refreshCounts();
  }

  // Children run in a scope of their own, so that a failure of this workflow can stop them too.
  const childScope = new CancellationScope();
  const children: Promise<void>[] = [];
  const stopChildren = async () => {
    childScope.cancel();
    await Promise.allSettled(children);
  };

  return ownRun(
    runId,
    bookkeeping,
    async () => {
      if (!input.carried) {
        const begun = await bookkeeping.beginRun(runId);
        // Null: the run was completed (cancelled) before this workflow began.
        if (!begun) return state.progress();
        state.carried.tenantsTotal = begun.tenants;
      }
      const queue: Array<{ tenantId: number; externalId: string }> = [];
      let exhausted = false;
      let started = 0;
      while (started < settings.continueAsNewAfter) {
        await condition(() => state.canStartChild(settings.childParallelism));
        if (queue.length === 0 && !exhausted) {
          const page = await bookkeeping.nextRunTenants(runId, state.carried.cursor, PAGE_SIZE);
          queue.push(...page);
          exhausted = page.length < PAGE_SIZE;
        }
        const tenant = queue.shift();
        if (!tenant) break;
        state.carried.cursor = tenant.tenantId;
        started++;
        state.running.add(tenant.tenantId);
        children.push(childScope.run(() => runTenant(tenant)));
      }
      await Promise.all(children);
      if (!exhausted || queue.length > 0) {
        await continueAsNew<typeof runbookFanOutWorkflow>({ ...input, carried: state.carry() });
      }
      await bookkeeping.completeRun(runId);
      return state.progress();
    },
    stopChildren,
  );
}
