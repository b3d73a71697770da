import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { changeDecidedSignal, changeTimerWorkflow } from '../workflows/changeTimer.js';
import type { LaunchTarget } from './runWorkflows.js';
import { changeTimerWorkflowId } from './workflowIds.js';

/** Starts a change request's expiry timer; a second start of the same request's finds it running. */
export async function startChangeTimer(target: LaunchTarget, changeRequestId: string, at: Date): Promise<void> {
  try {
    await target.client.workflow.start(changeTimerWorkflow, {
      taskQueue: target.taskQueue,
      workflowId: changeTimerWorkflowId(changeRequestId),
      args: [{ changeRequestId, expiresAt: at.getTime(), settings: target.settings }],
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
}

export async function endChangeTimer(client: Client, changeRequestId: string): Promise<void> {
  try {
    await client.workflow.getHandle(changeTimerWorkflowId(changeRequestId)).signal(changeDecidedSignal);
  } catch (error) {
    // Ended already (expired, or decided before): nothing left to tell.
    if (!(error instanceof WorkflowNotFoundError)) throw error;
  }
}
