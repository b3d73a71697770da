import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';

// Registered by temporal-dev.yaml, so operators can find a run's workflows in the Temporal UI.
export const OperationRunIdKey = defineSearchAttributeKey('OperationRunId', SearchAttributeType.KEYWORD);
export const RunbookKey = defineSearchAttributeKey('Runbook', SearchAttributeType.KEYWORD);
export const TenantExternalIdKey = defineSearchAttributeKey('TenantExternalId', SearchAttributeType.KEYWORD);

export function runSearchAttributes(runId: string, runbook: string, tenantExternalId?: string): SearchAttributePair[] {
  const pairs: SearchAttributePair[] = [
    { key: OperationRunIdKey, value: runId },
    { key: RunbookKey, value: runbook },
  ];
  if (tenantExternalId) pairs.push({ key: TenantExternalIdKey, value: tenantExternalId });
  return pairs;
}
