import {
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { failureMessage, ownRun, runbookActivities } from './activities.js';
import { FanOutState, type RunProgress } from './fanOutState.js';
import type { FanOutInput } from './inputs.js';
import {
  batchSizeSignal,
  batchTargetSignal,
  criticalSignal,
  gatesSignal,
  PAUSED_BY_ITSELF,
  WINDOW_PAUSER,
  pauseSignal,
  preflightQuery,
  resumeSignal,
  tuneUpdate,
  tuningOf,
  validateTuning,
} from './queries.js';
import type { TuneRequest } from '../runbooks/model.js';
import { runbookTenantWorkflow } from './runbookTenant.js';
import { runSearchAttributes } from './searchAttributes.js';
import { CHANGE_WINDOWS_PATCH, keepToWindows, waitForWindow } from './keepToWindows.js';

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
  const guards = input.guards ?? {};
  const { bookkeeping, localBookkeeping } = runbookActivities(settings);
  const state = new FanOutState(input.carried);
  const childId = (tenantId: number) => `${workflowInfo().workflowId}/tenant-${tenantId}`;
  setHandler(runProgressQuery, () => ({
    ...state.progress(),
    parallelism: settings.childParallelism,
    batchSize: settings.batchSize,
  }));
  setHandler(preflightQuery, () => input.preflight);
  // Running children stop after their current batch while the run is paused, and go on after.
  const tellChildren = (signal: typeof pauseSignal, by: string) =>
    Promise.allSettled(
      [...state.running].map((tenantId) => getExternalWorkflowHandle(childId(tenantId)).signal(signal, { by })),
    );
  setHandler(pauseSignal, async ({ by }) => {
    state.pause(by);
    await tellChildren(pauseSignal, by);
  });
  setHandler(resumeSignal, async ({ by }) => {
    state.resume();
    await tellChildren(resumeSignal, by);
  });
  // A child that crossed a critical health threshold: the whole run pauses for an operator, once.
  setHandler(criticalSignal, async (reason) => {
    if (!state.paused) await pauseItself(reason);
  });
  const tuning = () => tuningOf(settings.childParallelism, settings);
  setHandler(
    tuneUpdate,
    async (request) => {
      const from = tuning();
      settings.childParallelism = request.parallelism ?? settings.childParallelism;
      settings.batchSize = request.batchSize ?? settings.batchSize;
      if (request.batchTargetMs !== undefined) settings.batchTargetMs = request.batchTargetMs ?? undefined;
      // Resolved and checked by the engine (tuneRun) against the run's recorded thresholds.
      settings.gates = request.gates ?? settings.gates;
      // Running children take the new values from their next batch on.
      const running = [...state.running].map((tenantId) => getExternalWorkflowHandle(childId(tenantId)));
      await Promise.allSettled([
        ...(request.batchSize === undefined
          ? []
          : running.map((child) => child.signal(batchSizeSignal, settings.batchSize))),
        ...(request.batchTargetMs === undefined
          ? []
          : running.map((child) => child.signal(batchTargetSignal, request.batchTargetMs ?? null))),
        ...(settings.gates === from.gates ? [] : running.map((child) => child.signal(gatesSignal, settings.gates!))),
      ]);
      return { from, to: tuning() };
    },
    { validator: (request: TuneRequest) => validateTuning(request, { parallelismAllowed: true }) },
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
        args: [
          {
            runId,
            runbook: input.runbook,
            settings: { ...settings },
            preflight: null,
            searchAttributes: input.searchAttributes,
            tenantId: tenant.tenantId,
            isRoot: false,
          },
        ],
        typedSearchAttributes: input.searchAttributes
          ? runSearchAttributes(runId, input.runbook, tenant.externalId)
          : [],
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
    if (state.overBudget(guards)) {
      state.carried.budgetTripped = true;
      const budget =
        guards.maxFailedTenants !== undefined
          ? `${guards.maxFailedTenants} tenants`
          : `${guards.maxFailedPercent}% of tenants`;
      await pauseItself(`error budget exceeded: ${state.carried.tenantsFailed} tenants failed (budget: ${budget})`);
    }
  }

  /** The run stops starting tenants and waits for an operator: resume goes on, cancel ends it. */
  async function pauseItself(reason: string): Promise<void> {
    state.pause(PAUSED_BY_ITSELF);
    await Promise.all([
      tellChildren(pauseSignal, PAUSED_BY_ITSELF),
      bookkeeping.pauseRunItself(runId, { by: PAUSED_BY_ITSELF, reason }),
    ]);
  }

  /** The canary wave: its tenants first, then a pause for the operator's go-ahead. Returns how many it started. */
  async function runCanary(canary: NonNullable<typeof guards.canary>): Promise<number> {
    const named = canary.tenantIds ? await bookkeeping.runItemTenants(runId, canary.tenantIds) : null;
    const wave = named ?? (await bookkeeping.nextRunTenants(runId, 0, canary.count));
    for (const tenant of wave) {
      await condition(() => state.canStartChild(settings.childParallelism));
      if (!named) state.carried.cursor = tenant.tenantId;
      state.running.add(tenant.tenantId);
      children.push(childScope.run(() => runTenant(tenant)));
    }
    await Promise.all(children);
    state.carried.canaryDone = true;
    await pauseItself(`canary done: ${state.carried.tenantsDone} succeeded, ${state.carried.tenantsFailed} failed`);
    return wave.length;
  }

  // Children run in a scope of their own, so that a failure of this workflow can stop them too.
  const childScope = new CancellationScope();
  const children: Promise<void>[] = [];
  const stopChildren = async () => {
    childScope.cancel();
    await Promise.allSettled(children);
  };

  // Workflows begun before change windows replay without them.
  const keepsToWindows = patched(CHANGE_WINDOWS_PATCH);
  let over = false;
  const keepingToWindows = () =>
    keepToWindows({
      bookkeeping,
      runId,
      done: () => over,
      paused: () => state.paused,
      heldByWindow: () => state.carried.pausedBy === WINDOW_PAUSER,
      pause: async () => {
        state.pause(WINDOW_PAUSER);
        await tellChildren(pauseSignal, WINDOW_PAUSER);
      },
      resume: async () => {
        state.resume();
        await Promise.all([tellChildren(resumeSignal, WINDOW_PAUSER), bookkeeping.windowOpened(runId)]);
      },
    }).catch((error: unknown) => {
      // Cancelled with the run; anything else is a bug in this workflow, for its task to fail on.
      if (!isCancellation(error)) throw error;
    });

  return ownRun(
    runId,
    bookkeeping,
    async () => {
      if (!input.carried) {
        if (keepsToWindows) await waitForWindow(bookkeeping, runId);
        const begun = await bookkeeping.beginRun(runId);
        // Null: the run was completed (cancelled) before this workflow began.
        if (!begun) return state.progress();
        state.carried.tenantsTotal = begun.tenants;
      }
      const watching = keepsToWindows ? keepingToWindows() : null;
      // The canary's children count towards continue-as-new: a paused run continues as new too.
      let started = guards.canary && !state.carried.canaryDone ? await runCanary(guards.canary) : 0;
      // Named canary tenants ran already; the rest go in id order.
      const ranInCanary = new Set(guards.canary?.tenantIds ?? []);
      const queue: Array<{ tenantId: number; externalId: string }> = [];
      let exhausted = false;
      while (started < settings.continueAsNewAfter) {
        await condition(() => state.canStartChild(settings.childParallelism));
        if (queue.length === 0 && !exhausted) {
          const page = await localBookkeeping.nextRunTenants(runId, state.carried.cursor, PAGE_SIZE);
          queue.push(...page.filter((tenant) => !ranInCanary.has(tenant.tenantId)));
          exhausted = page.length < PAGE_SIZE;
          if (queue.length === 0 && !exhausted) {
            state.carried.cursor = page.at(-1)!.tenantId;
            continue;
          }
        }
        const tenant = queue.shift();
        if (!tenant) break;
        state.carried.cursor = tenant.tenantId;
        started++;
        state.running.add(tenant.tenantId);
        children.push(childScope.run(() => runTenant(tenant)));
      }
      await Promise.all(children);
      over = true;
      await watching;
      if (!exhausted || queue.length > 0) {
        await continueAsNew<typeof runbookFanOutWorkflow>({ ...input, settings, carried: state.carry() });
      }
      await bookkeeping.completeRun(runId);
      return state.progress();
    },
    stopChildren,
  );
}
