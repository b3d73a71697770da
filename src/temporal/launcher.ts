import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import type { RunLauncher } from '../runbooks/launcher.js';
import { workflowIdFor } from './workflowIds.js';

/**
 * The engine's launcher on Temporal: runs start on the configured task queue with the
 * configuration's run settings. `connect` is called only when a run is launched or controlled,
 * so that a refusal, a list or a preflight never needs the server; the client and the workflow
 * definitions are imported then too, so that a CLI command that only reads never loads them.
 */
export function temporalLauncher(config: Config, connect: () => Promise<Client>): RunLauncher {
  const target = async () => ({
    client: await connect(),
    taskQueue: config.temporal.taskQueue,
    settings: config.runs,
  });
  const workflows = () => import('./runWorkflows.js');
  return {
    name: `Temporal at ${config.temporal.address}`,
    settings: {
      parallelism: config.runs.childParallelism,
      batchSize: config.runs.batchSize,
      ...(config.runs.batchTargetMs === undefined ? {} : { batchTargetMs: config.runs.batchTargetMs }),
    },
    gates: config.health.gates,
    workflowIdOf: workflowIdFor,
    start: async (run) => (await workflows()).startRunWorkflow(await target(), run),
    cancel: async (runId) => (await workflows()).cancelRunWorkflow(await connect(), runId),
    pause: async (runId, by) => (await workflows()).pauseRunWorkflow(await connect(), runId, by),
    resume: async (runId, by) => (await workflows()).resumeRunWorkflow(await connect(), runId, by),
    tune: async (runId, request, answerWithinMs) =>
      (await workflows()).tuneRunWorkflow(await connect(), runId, request, answerWithinMs),
    expireChangeAt: async (changeRequestId, at) =>
      (await import('./changeTimers.js')).startChangeTimer(
        { client: await connect(), taskQueue: config.temporal.taskQueue, settings: config.runs },
        changeRequestId,
        at,
      ),
    changeDecided: async (changeRequestId) =>
      (await import('./changeTimers.js')).endChangeTimer(await connect(), changeRequestId),
  };
}
