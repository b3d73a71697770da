import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { RunSettings } from '../config.js';
import {
  deployHookWorkflow,
  releaseSignal,
  releasesQuery,
  type DeployHookInput,
  type ReleaseRecord,
  type ReleaseSignal,
} from '../workflows/deployHook.js';
import type { FanOutInput, TenantInput } from '../workflows/inputs.js';
import { pauseSignal, resumeSignal, tuneUpdate } from '../workflows/queries.js';
import { runbookFanOutWorkflow, runProgressQuery } from '../workflows/runbookFanOut.js';
import type { RunProgress } from '../workflows/fanOutState.js';
import { runbookTenantWorkflow } from '../workflows/runbookTenant.js';
import { runSearchAttributes } from '../workflows/searchAttributes.js';
import { isMissingSearchAttribute } from './searchAttributes.js';
import { deployHookWorkflowId, workflowIdFor } from './workflowIds.js';
import type { ControlOutcome, RunToLaunch, TuneOutcome } from '../runbooks/launcher.js';
import type { TuneRequest } from '../runbooks/model.js';

export interface LaunchTarget {
  client: Client;
  taskQueue: string;
  settings: RunSettings;
}

async function startRoot(target: LaunchTarget, run: RunToLaunch, searchAttributes: boolean): Promise<void> {
  const common = {
    taskQueue: target.taskQueue,
    workflowId: workflowIdFor(run.runId),
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
  };
  const base = {
    runId: run.runId,
    runbook: run.runbook,
    settings: {
      ...target.settings,
      // The run's own sizing wins over the deployment's, down to having no target (a fixed size).
      ...(run.sizing && { batchSize: run.sizing.batchSize, batchTargetMs: run.sizing.batchTargetMs }),
      gates: run.gates,
    },
    preflight: run.preflight,
    searchAttributes,
  };
  if (run.singleTenant) {
    const input: TenantInput = { ...base, tenantId: run.singleTenant.id, isRoot: true };
    await target.client.workflow.start(runbookTenantWorkflow, {
      ...common,
      args: [input],
      typedSearchAttributes: searchAttributes
        ? runSearchAttributes(run.runId, run.runbook, run.singleTenant.externalId)
        : [],
    });
  } else {
    const input: FanOutInput = { ...base, guards: run.guards };
    await target.client.workflow.start(runbookFanOutWorkflow, {
      ...common,
      args: [input],
      typedSearchAttributes: searchAttributes ? runSearchAttributes(run.runId, run.runbook) : [],
    });
  }
}

/**
 * Starts a run's root workflow. Returns false when it already exists (a replayed start):
 * the workflow id is the run's, so a run can never have two. A namespace without the
 * project's search attributes gets the workflow without them rather than a refusal.
 */
export async function startRunWorkflow(target: LaunchTarget, run: RunToLaunch): Promise<boolean> {
  try {
    try {
      await startRoot(target, run, true);
    } catch (error) {
      if (!isMissingSearchAttribute(error)) throw error;
      await startRoot(target, run, false);
    }
    return true;
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw error;
  }
}

/** Sends a control to a run's workflow when it is running. */
async function toRunningWorkflow(
  client: Client,
  runId: string,
  send: (handle: WorkflowHandle) => Promise<unknown>,
): Promise<ControlOutcome> {
  const handle = client.workflow.getHandle(workflowIdFor(runId));
  try {
    if ((await handle.describe()).status.name !== 'RUNNING') return 'no_workflow';
    await send(handle);
    return 'sent';
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return 'no_workflow';
    throw error;
  }
}

export function cancelRunWorkflow(client: Client, runId: string): Promise<ControlOutcome> {
  return toRunningWorkflow(client, runId, (handle) => handle.cancel());
}

export function pauseRunWorkflow(client: Client, runId: string, by: string): Promise<ControlOutcome> {
  return toRunningWorkflow(client, runId, (handle) => handle.signal(pauseSignal, { by }));
}

export function resumeRunWorkflow(client: Client, runId: string, by: string): Promise<ControlOutcome> {
  return toRunningWorkflow(client, runId, (handle) => handle.signal(resumeSignal, { by }));
}

export function queryRunProgress(client: Client, runId: string): Promise<RunProgress> {
  return client.workflow.getHandle(workflowIdFor(runId)).query(runProgressQuery);
}

/**
 * Announces a release to the deploy workflow of the task queue, starting that workflow if it
 * is not running yet (signal-with-start): one workflow, whoever fires the hook and how often.
 */
export async function signalDeployRelease(
  client: Client,
  options: { taskQueue: string; input: DeployHookInput },
  release: ReleaseSignal,
): Promise<void> {
  await client.workflow.signalWithStart(deployHookWorkflow, {
    workflowId: deployHookWorkflowId(options.taskQueue),
    taskQueue: options.taskQueue,
    args: [options.input],
    signal: releaseSignal,
    signalArgs: [release],
  });
}

/** What the deploy workflow has made of a release so far (null: not received yet). */
export async function queryRelease(client: Client, taskQueue: string, release: string): Promise<ReleaseRecord | null> {
  const records = await client.workflow.getHandle(deployHookWorkflowId(taskQueue)).query(releasesQuery);
  return records.find((record) => record.release === release) ?? null;
}

/**
 * Tunes a run's workflow; a change its validator refuses comes back with the validator's words.
 * An update needs a worker to answer it: without one it would wait for ever, so it waits
 * `answerWithinMs` and then says so ('no_answer').
 */
export async function tuneRunWorkflow(
  client: Client,
  runId: string,
  request: TuneRequest,
  answerWithinMs: number,
): Promise<TuneOutcome> {
  try {
    const handle = client.workflow.getHandle(workflowIdFor(runId));
    return {
      tuned: await client.withDeadline(Date.now() + answerWithinMs, () =>
        handle.executeUpdate(tuneUpdate, { args: [request] }),
      ),
    };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return 'no_workflow';
    if (error instanceof WorkflowUpdateFailedError) return { refused: error.cause?.message ?? error.message };
    // Our deadline is the only thing that ends the call early: the SDK reports it either way.
    if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isDeadlineExceeded(error)) return 'no_answer';
    throw error;
  }
}

/** gRPC's DEADLINE_EXCEEDED (code 4), as the client raises it or wraps it. */
function isDeadlineExceeded(error: unknown): boolean {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === 4) return true;
  }
  return false;
}
