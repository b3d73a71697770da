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
