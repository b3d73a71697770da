import {
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { failureMessage, ownRun, runbookActivities } from './activities.js';
import { FanOutState, type RunProgress } from './fanOutState.js';
import type { FanOutInput } from './inputs.js';
import { batchSizeSignal, pauseSignal, preflightQuery, resumeSignal, tuneUpdate, validateTuning } from './queries.js';
import { runbookTenantWorkflow } from './runbookTenant.js';
import { runSearchAttributes } from './searchAttributes.js';

export const runProgressQuery = defineQuery<RunProgress & { parallelism: number; batchSize: number }>('progress');

const PAGE_SIZE = 100;
/** Run counts are derived from items; refreshing them more often than this buys nothing. */
const COUNTS_REFRESH_MS = 1_000;

/**
 * A multi-tenant run: one child workflow per tenant with bounded parallelism. A failed tenant
 * is recorded and the others go on. After `continueAsNewAfter` children it drains and
 * continues as new with its state, so ten thousand tenants stay far inside history limits.
 */
export async function runbookFanOutWorkflow(input: FanOutInput): Promise<RunProgress> {
  const { runId } = input;
  // Tuning changes these; children started from now on and continuations take them over.
  const settings = { ...input.settings };
  const { bookkeeping } = runbookActivities(settings);
  const state = new FanOutState(input.carried);
  const childId = (tenantId: number) => `${workflowInfo().workflowId}/tenant-${tenantId}`;
  setHandler(runProgressQuery, () => ({ ...state.progress(), parallelism: settings.childParallelism, batchSize: settings.batchSize }));
  setHandler(preflightQuery, () => input.preflight);
  setHandler(pauseSignal, ({ by }) => state.pause(by));
  setHandler(resumeSignal, () => state.resume());
  setHandler(
    tuneUpdate,
    async (request) => {
      const from = { parallelism: settings.childParallelism, batchSize: settings.batchSize };
      settings.childParallelism = request.parallelism ?? settings.childParallelism;
      settings.batchSize = request.batchSize ?? settings.batchSize;
      if (request.batchSize !== undefined) {
        // Running children take the new size from their next batch on.
        // A child that has just finished cannot be told, and needs not be.
        await Promise.allSettled([...state.running].map((tenantId) => getExternalWorkflowHandle(childId(tenantId)).signal(batchSizeSignal, settings.batchSize)));
      }
      return { from, to: { parallelism: settings.childParallelism, batchSize: settings.batchSize } };
    },
    { validator: (request) => validateTuning(request, { parallelismAllowed: true }) },
  );

  let lastRefresh = 0;
  async function refreshCounts(): Promise<void> {
    if (Date.now() - lastRefresh < COUNTS_REFRESH_MS) return;
    lastRefresh = Date.now();
    await bookkeeping.refreshRunCounts(runId);
  }

  async function runTenant(tenant: { tenantId: number; externalId: string }): Promise<void> {
    try {
      const result = await executeChild(runbookTenantWorkflow, {
        workflowId: childId(tenant.tenantId),
        args: [{ runId, runbook: input.runbook, settings: { ...settings }, preflight: null, searchAttributes: input.searchAttributes, tenantId: tenant.tenantId, isRoot: false }],
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
        await continueAsNew<typeof runbookFanOutWorkflow>({ ...input, settings, carried: state.carry() });
      }
      await bookkeeping.completeRun(runId);
      return state.progress();
    },
    stopChildren,
  );
}
