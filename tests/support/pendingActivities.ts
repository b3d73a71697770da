import type { Client } from '@temporalio/client';

export interface PendingActivity {
  workflowId: string;
  activity: string;
  attempt: number;
  lastFailure: string | null;
}

/**
 * The activities Temporal holds as pending for the tenant children of a fan-out run (child
 * workflow ids are `<run workflow id>/tenant-<tenant id>`); children that do not exist are skipped.
 * Shows whether an outage made running work fail and retry.
 */
export async function pendingTenantActivities(
  client: Client,
  runWorkflowId: string,
  tenantIds: number[],
): Promise<PendingActivity[]> {
  const pending: PendingActivity[] = [];
  for (const tenantId of tenantIds) {
    const workflowId = `${runWorkflowId}/tenant-${tenantId}`;
    const description = await client.workflow
      .getHandle(workflowId)
      .describe()
      .catch(() => null);
    for (const activity of description?.raw.pendingActivities ?? []) {
      pending.push({
        workflowId,
        activity: activity.activityType?.name ?? '?',
        attempt: activity.attempt ?? 0,
        lastFailure: activity.lastFailure?.message ?? null,
      });
    }
  }
  return pending;
}

/**
 * What Temporal still holds as to do for a run: the pending workflow tasks and activities of the
 * run's own workflow and of its tenant children (children that do not exist are skipped). A local
 * activity runs inside a workflow task, so it shows as one. Empty: the run is idle, and nothing it
 * started can write until something (a signal, a timer) wakes it.
 */
export async function pendingRunWork(client: Client, runWorkflowId: string, tenantIds: number[]): Promise<string[]> {
  const pending: string[] = [];
  for (const workflowId of [runWorkflowId, ...tenantIds.map((tenantId) => `${runWorkflowId}/tenant-${tenantId}`)]) {
    const description = await client.workflow
      .getHandle(workflowId)
      .describe()
      .catch(() => null);
    if (description?.raw.pendingWorkflowTask) pending.push(`${workflowId}: workflow task`);
    for (const activity of description?.raw.pendingActivities ?? []) {
      pending.push(`${workflowId}: ${activity.activityType?.name ?? '?'}`);
    }
  }
  return pending;
}
