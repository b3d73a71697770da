import type { AuditTrailEntry, RunCounts, RunItemRecord, RunRecord } from '../../../../runbooks/runs.js';
import { RUNBOOKS } from '../../../../runbooks/registry.js';
import { describeScope, type StoredScope } from '../../../../runbooks/scope.js';

/** The plain view models the runs pages render; views never see database rows. */

const runbookTitle = (id: string) => RUNBOOKS.find((runbook) => runbook.id === id)?.title ?? id;
const when = (date: Date | null) => (date ? date.toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '');

const scopeText = (run: RunRecord) => describeScope(run.scope as StoredScope);

function initiatorText(run: RunRecord): string {
  return run.initiatorLabel ?? run.source;
}

function badge(run: RunRecord) {
  return { status: run.status, outcome: run.outcome, paused: run.pausedAt !== null };
}

export function runListView(run: RunRecord) {
  return {
    ...badge(run),
    href: `/system/ops/runs/${run.id}`,
    runbookTitle: runbookTitle(run.runbook),
    scope: scopeText(run),
    initiator: initiatorText(run),
    reason: run.reason.length > 120 ? `${run.reason.slice(0, 119)}…` : run.reason,
    createdAt: run.createdAt.toISOString(),
    createdAtText: when(run.createdAt),
  };
}

const COUNT_LABELS: Array<[keyof RunCounts, string]> = [
  ['tenants', 'Tenants'],
  ['tenantsPending', 'Tenants pending'],
  ['tenantsRunning', 'Tenants running'],
  ['tenantsSucceeded', 'Tenants succeeded'],
  ['tenantsFailed', 'Tenants failed'],
  ['tenantsCancelled', 'Tenants cancelled'],
  ['examined', 'Examined'],
  ['changed', 'Changed'],
  ['batches', 'Batches'],
];

export function runDetailView(run: RunRecord, items: RunItemRecord[], audit: AuditTrailEntry[], options: { started?: boolean } = {}) {
  const counts = (run.counts ?? {}) as RunCounts;
  return {
    ...badge(run),
    // Intent only ("… queued"), never progress: the page below says how far the run is.
    toast: options.started ? { text: `${runbookTitle(run.runbook)} queued`, href: `/system/ops/runs/${run.id}` } : null,
    id: run.id,
    runbookTitle: runbookTitle(run.runbook),
    scope: scopeText(run),
    reason: run.reason,
    initiator: initiatorText(run),
    source: run.source,
    error: run.error,
    createdAt: run.createdAt.toISOString(),
    createdAtText: when(run.createdAt),
    counts: COUNT_LABELS.filter(([key]) => typeof counts[key] === 'number').map(([key, label]) => ({
      label,
      value: (counts[key] as number).toLocaleString('en-US'),
    })),
    // Failed tenants first: they are what an operator opens the page for.
    items: [...items]
      .sort((a, b) => Number(b.status === 'failed') - Number(a.status === 'failed'))
      .map((item) => ({
        tenant: item.externalId,
        status: item.status,
        examined: Number((item.counts as { examined?: number } | null)?.examined ?? 0).toLocaleString('en-US'),
        changed: Number((item.counts as { changed?: number } | null)?.changed ?? 0).toLocaleString('en-US'),
        error: item.error ?? '',
      })),
    audit: audit.map((event) => ({
      occurredAt: event.occurredAt.toISOString(),
      occurredAtText: when(event.occurredAt),
      action: event.action,
      actor: event.actorLabel ?? event.actorKind,
    })),
  };
}
