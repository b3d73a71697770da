import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import type { RunLauncher } from '../runbooks/launcher.js';
import {
  cancelRunWorkflow,
  pauseRunWorkflow,
  resumeRunWorkflow,
  startRunWorkflow,
  tuneRunWorkflow,
} from './runWorkflows.js';
import { workflowIdFor } from './workflowIds.js';

/**
 * The engine's launcher on Temporal: runs start on the configured task queue with the
 * configuration's run settings. `connect` is called only when a run is launched or controlled,
 * so that a refusal, a list or a preflight never needs the server.
 */
export function temporalLauncher(config: Config, connect: () => Promise<Client>): RunLauncher {
  const target = async () => ({
    client: await connect(),
    taskQueue: config.temporal.taskQueue,
    settings: config.runs,
  });
  return {
    name: `Temporal at ${config.temporal.address}`,
    workflowIdOf: workflowIdFor,
    start: async (run) => startRunWorkflow(await target(), run),
    cancel: async (runId) => cancelRunWorkflow(await connect(), runId),
    pause: async (runId, by) => pauseRunWorkflow(await connect(), runId, by),
    resume: async (runId, by) => resumeRunWorkflow(await connect(), runId, by),
    tune: async (runId, request, answerWithinMs) => tuneRunWorkflow(await connect(), runId, request, answerWithinMs),
  };
}
