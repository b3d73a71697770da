/** The workflow id of a run: derived from the run id, so Temporal rejects a second start too. */
export function workflowIdFor(runId: string): string {
  return `runbook-run-${runId}`;
}

/** The one long-lived deploy workflow of a namespace and task queue (signal-with-start). */
export function deployHookWorkflowId(taskQueue: string): string {
  return `platform-ops-deploy-hook/${taskQueue}`;
}

/** The expiry timer of a change request: one per request. */
export function changeTimerWorkflowId(changeRequestId: string): string {
  return `change-request-${changeRequestId}`;
}
