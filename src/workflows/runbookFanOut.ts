import {
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  executeChild,
  isCancellation,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { failureMessage, runbookActivities } from './activities.js';
import type { FanOutInput, FanOutProgress } from './inputs.js';
import { pauseSignal, preflightQuery, resumeSignal } from './queries.js';
import { runbookTenantWorkflow } from './runbookTenant.js';
import { runSearchAttributes } from './searchAttributes.js';

export interface RunProgress extends FanOutProgress {
  running: number;
  paused: boolean;
}

export const runProgressQuery = defineQuery<RunProgress>('progress');

const PAGE_SIZE = 100;
/** Run counts are derived from items; refreshing them more often than this buys nothing. */
const COUNTS_REFRESH_MS = 1_000;

/**
 * A multi-tenant run: one child workflow per tenant with bounded parallelism. A failed tenant
 * is recorded and the others go on. After `continueAsNewAfter` children it drains and
 * continues as new with its cursor, so ten thousand tenants stay far inside history limits.
 */
export async function runbookFanOutWorkflow(input: FanOutInput): Promise<RunProgress> {
  const { runId, settings } = input;
  const activities = runbookActivities(settings);
  const state: FanOutProgress = input.carried ?? { tenantsTotal: 0, tenantsDone: 0, tenantsFailed: 0, cursor: 0, continuedAsNew: 0 };
  const running = new Set<number>();
  let paused = false;
  const progress = (): RunProgress => ({ ...state, running: running.size, paused });
  setHandler(runProgressQuery, progress);
  setHandler(preflightQuery, () => input.preflight);
  setHandler(pauseSignal, () => void (paused = true));
  setHandler(resumeSignal, () => void (paused = false));

  let lastRefresh = 0;
  async function refreshCounts(): Promise<void> {
    if (Date.now() - lastRefresh < COUNTS_REFRESH_MS) return;
    lastRefresh = Date.now();
    await activities.refreshRunCounts(runId);
  }

  async function runTenant(tenant: { tenantId: number; externalId: string }): Promise<void> {
    try {
      const result = await executeChild(runbookTenantWorkflow, {
        workflowId: `${workflowInfo().workflowId}/tenant-${tenant.tenantId}`,
        args: [{ runId, runbook: input.runbook, tenantId: tenant.tenantId, settings, preflight: null, isRoot: false }],
        typedSearchAttributes: runSearchAttributes(runId, input.runbook, tenant.externalId),
      });
      if (result.status === 'succeeded') state.tenantsDone++;
      else state.tenantsFailed++;
    } catch (error) {
      if (isCancellation(error)) throw error;
      // The child itself failed (not just its work): record it here so the item is settled.
      state.tenantsFailed++;
      await activities.settleRunItem(runId, tenant.tenantId, 'failed', failureMessage(error));
    } finally {
      running.delete(tenant.tenantId);
    }
    await refreshCounts();
  }

  const children: Promise<void>[] = [];
  try {
    if (!input.carried) state.tenantsTotal = await activities.beginRun(runId);
    const queue: Array<{ tenantId: number; externalId: string }> = [];
    let exhausted = false;
    let started = 0;
    while (started < settings.continueAsNewAfter) {
      await condition(() => !paused && running.size < settings.childParallelism);
      if (queue.length === 0 && !exhausted) {
        const after = queue.at(-1)?.tenantId ?? state.cursor;
        const page = await activities.nextRunTenants(runId, after, PAGE_SIZE);
        queue.push(...page);
        exhausted = page.length < PAGE_SIZE;
      }
      const tenant = queue.shift();
      if (!tenant) break;
      state.cursor = tenant.tenantId;
      started++;
      running.add(tenant.tenantId);
      children.push(runTenant(tenant));
    }
    await Promise.all(children);
    if (!exhausted || queue.length > 0) {
      await continueAsNew<typeof runbookFanOutWorkflow>({
        ...input,
        carried: { ...state, continuedAsNew: state.continuedAsNew + 1 },
      });
    }
    await activities.completeRun(runId);
  } catch (error) {
    if (!isCancellation(error)) throw error;
    await CancellationScope.nonCancellable(async () => {
      // The children are cancelled with this workflow; let them record their items first.
      await Promise.allSettled(children);
      await activities.completeRun(runId, { outcome: 'cancelled' });
    });
    throw error;
  }
  return progress();
}
