/** The workflow id of a run: derived from the run id, so Temporal rejects a second start too. */
export function workflowIdFor(runId: string): string {
  return `runbook-run-${runId}`;
}
