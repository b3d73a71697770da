import { actionRefusal, type RunAction } from '../../../../runbooks/control.js';
import { count, counted, utcTime } from '../../../../format.js';
import { progressText, runFraction } from '../../../../runbooks/progressText.js';
import { RUNBOOKS, runbookTitle } from '../../../../runbooks/registry.js';
import {
  auditReason,
  type AuditTrailEntry,
  type RunItemRecord,
  type RunLive,
  type RunRecord,
  type RunSummary,
} from '../../../../runbooks/runs.js';
import { describeScope } from '../../../../runbooks/scope.js';
import { REASON_LENGTH } from '../../../../runbooks/validateStart.js';
import { TUNING_LIMITS } from '../../../../workflows/queries.js';
import type { RunCounts } from '../../../../runbooks/model.js';
import { inDeclaredOrder, NO_PARAMETERS, parameterText } from '../../../../runbooks/parameters.js';

/** The plain view models the runs pages render; views never see database rows. */

/** Tenants listed on the run page; the export has them all. */
export const SHOWN_ITEMS = 100;

const runbookOf = (id: string) => RUNBOOKS.find((runbook) => runbook.id === id);
const unitOf = (run: Pick<RunRecord, 'runbook'>) => runbookOf(run.runbook)?.unit ?? 'rows';
const when = (date: Date | null) => (date ? utcTime(date) : '');
const scopeText = (run: Pick<RunRecord, 'scope'>) => describeScope(run.scope);
const runHref = (id: string) => `/system/ops/runs/${id}`;

/** "45 s", "3 min 5 s", "2 h 4 min": a span as people read it. */
function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const minutes = Math.floor((s % 3600) / 60);
  return `${Math.floor(s / 3600)} h${minutes ? ` ${minutes} min` : ''}`;
}

/** What a status partial (`partials/status/<status>`) shows. */
function badge(run: Pick<RunRecord, 'status' | 'outcome' | 'pausedAt'>) {
  return { status: run.status, outcome: run.outcome, paused: run.pausedAt !== null };
}

/** The share done: findings examined of those the preflight counted, else tenants settled. */
function fractionOf(run: RunLive, inScope: number | null): number {
  if (run.status === 'completed') return 1;
  if (inScope && inScope > 0) return Math.min(0.99, (run.counts.examined ?? 0) / inScope);
  return runFraction(run);
}

// The view models below nest their parts (`badge`) rather than spread them: see Views
// (templates.ts) for what a spread followed by more properties costs on a page of rows.

export function runListView(run: RunSummary, now: Date) {
  return {
    badge: badge(run),
    id: run.id,
    href: runHref(run.id),
    runbookTitle: runbookTitle(run.runbook),
    scope: scopeText(run),
    initiator: run.initiatorLabel ?? run.source,
    reason: run.reason.length > 120 ? `${run.reason.slice(0, 119)}…` : run.reason,
    percent: Math.floor(runFraction(run) * 100),
    createdAt: run.createdAt.toISOString(),
    age: `${duration((now.getTime() - run.createdAt.getTime()) / 1000)} ago`,
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

/** What an operator may do to the run in its present state, each a link to its confirmation. */
function actionsOf(
  run: RunLive,
  canManage: boolean,
): Array<{ action: RunAction | 'tune'; label: string; href: string }> {
  if (!canManage) return [];
  const actions: Array<[RunAction | 'tune', string]> = [
    ['pause', 'Pause'],
    ['resume', 'Resume'],
    ['tune', 'Tune'],
    ['cancel', 'Cancel'],
  ];
  return actions
    .filter(([action]) => !actionRefusal(run, action))
    .map(([action, label]) => ({ action, label, href: `${runHref(run.id)}/actions/${action}` }));
}

/** Rate, and what is left (ETA) or what it took: from the run's own clock and counts. */
function pace(run: RunLive, inScope: number | null, now: Date) {
  if (!run.startedAt) return { rate: null, eta: null };
  const elapsed = ((run.completedAt ?? now).getTime() - run.startedAt.getTime()) / 1000;
  const examined = run.counts.examined ?? 0;
  const perSecond = elapsed > 0 ? examined / elapsed : 0;
  const rate = perSecond > 0 ? `${count(Math.round(perSecond))} ${unitOf(run)}/s` : null;
  if (run.status === 'completed') return { rate, eta: `took ${duration(elapsed)}` };
  if (run.pausedAt) return { rate, eta: 'no estimate while paused' };
  if (!inScope || perSecond <= 0) return { rate, eta: null };
  return { rate, eta: `about ${duration(Math.max(0, inScope - examined) / perSecond)} left` };
}

/** The part of the run page that updates while the run is active, and stops when it is terminal. */
export function liveView(run: RunLive, options: { inScope: number | null; now: Date; canManage: boolean }) {
  const fraction = fractionOf(run, options.inScope);
  const { rate, eta } = pace(run, options.inScope, options.now);
  return {
    badge: badge(run),
    id: run.id,
    // Polled while there is something to watch; the terminal render has no trigger, so it stops.
    pollUrl: run.status === 'completed' ? null : `${runHref(run.id)}/progress`,
    percent: Math.floor(fraction * 100),
    text: progressText(run, unitOf(run)),
    rate,
    eta,
    pause: run.pausedAt ? { since: when(run.pausedAt), by: run.pausedBy ?? '', reason: run.pauseReason ?? '' } : null,
    error: run.error,
    counts: COUNT_LABELS.filter(([key]) => typeof run.counts[key] === 'number').map(([key, label]) => ({
      label,
      value: count(run.counts[key] as number),
    })),
    actions: actionsOf(run, options.canManage),
  };
}

/** The run's tenants, failed first (what an operator opens the page for), the first SHOWN_ITEMS of them. */
export function tenantsView(runId: string, items: RunItemRecord[]) {
  const failedFirst = [...items].sort((a, b) => Number(b.status === 'failed') - Number(a.status === 'failed'));
  return {
    total: items.length,
    more: Math.max(0, items.length - SHOWN_ITEMS),
    exportHref: `${runHref(runId)}/export?format=csv`,
    items: failedFirst.slice(0, SHOWN_ITEMS).map((item) => ({
      tenant: item.externalId,
      status: item.status,
      examined: count(item.counts.examined),
      changed: count(item.counts.changed),
      error: item.error ?? '',
    })),
  };
}

export function auditView(audit: AuditTrailEntry[]) {
  return audit.map((event) => ({
    occurredAt: event.occurredAt.toISOString(),
    occurredAtText: when(event.occurredAt),
    action: event.action,
    actor: event.actorLabel ?? event.actorKind,
    reason: auditReason(event) ?? '',
  }));
}

export interface RunPageContext {
  inScope: number | null;
  now: Date;
  canManage: boolean;
  canRetry: boolean;
  csrfToken: string;
  temporalUiUrl: string;
  temporalNamespace: string;
  retries: Array<Pick<RunRecord, 'id' | 'status' | 'outcome'>>;
  /** A notice at the top: the start's intent-only toast, or an action just asked for. */
  toast: string | null;
}

export function runDetailView(
  run: RunRecord,
  items: RunItemRecord[],
  audit: AuditTrailEntry[],
  context: RunPageContext,
) {
  const failed = items.filter((item) => item.status === 'failed').length;
  return {
    id: run.id,
    toast: context.toast ? { text: context.toast, href: runHref(run.id) } : null,
    runbookTitle: runbookTitle(run.runbook),
    runbookId: run.runbook,
    scope: scopeText(run),
    parameters: inDeclaredOrder(runbookOf(run.runbook)?.parameters ?? NO_PARAMETERS, run.parameters).map(
      ([name, value]) => ({ name, value: parameterText(value) }),
    ),
    asOf: when(run.asOf),
    reason: run.reason,
    initiator: run.initiatorLabel ?? run.source,
    source: run.source,
    createdAt: run.createdAt.toISOString(),
    createdAtText: when(run.createdAt),
    preflight: run.preflightId
      ? { id: run.preflightId, inScope: context.inScope === null ? null : counted(context.inScope, unitOf(run)) }
      : null,
    guards: guardsText(run),
    retryOf: run.retryOf ? { id: run.retryOf, href: runHref(run.retryOf) } : null,
    retries: context.retries.map((retry) => ({
      id: retry.id,
      href: runHref(retry.id),
      status: retry.outcome ?? retry.status,
    })),
    temporalHref: run.workflowId
      ? `${context.temporalUiUrl}/namespaces/${encodeURIComponent(context.temporalNamespace)}/workflows/${encodeURIComponent(run.workflowId)}`
      : null,
    workflowId: run.workflowId,
    exports: ['csv', 'json'].map((format) => ({ format, href: `${runHref(run.id)}/export?format=${format}` })),
    // A retry starts through the preflight of the runbooks page, scoped to the failed tenants.
    retry:
      context.canRetry &&
      run.status === 'completed' &&
      failed > 0 &&
      (run.outcome === 'partially_succeeded' || run.outcome === 'failed')
        ? {
            action: `/system/ops/runbooks/${run.runbook}/preflight`,
            failed: counted(failed, 'tenants'),
            csrfToken: context.csrfToken,
          }
        : null,
    live: liveView(run, context),
    tenants: tenantsView(run.id, items),
    audit: auditView(audit),
  };
}

function guardsText(run: RunRecord): string[] {
  const { guards } = run;
  return [
    guards.maxFailedTenants !== undefined
      ? `pause when more than ${counted(guards.maxFailedTenants, 'tenants')} fail`
      : null,
    guards.maxFailedPercent !== undefined ? `pause when more than ${guards.maxFailedPercent}% of tenants fail` : null,
    guards.canary ? `canary wave of ${counted(guards.canary.count, 'tenants')}, then pause for a go-ahead` : null,
  ].filter((line): line is string => line !== null);
}

/** The confirmation step of an action on a run: what it does, and a reason. */
export function actionView(
  run: RunRecord,
  action: RunAction | 'tune',
  fields: { reason: string; parallelism: string; batchSize: string },
  problems: { top: string | null; reason: string | null; tuning: string | null },
  csrfToken: string,
) {
  const settled =
    (run.counts.tenantsSucceeded ?? 0) + (run.counts.tenantsFailed ?? 0) + (run.counts.tenantsCancelled ?? 0);
  const explain: Record<RunAction | 'tune', string> = {
    cancel: `Cancelling stops the run after the batches in flight: the ${counted(settled, 'tenants')} already settled stay as they are, the rest are recorded as cancelled, and the run completes as cancelled.`,
    pause:
      'Pausing lets running tenants finish their current batch; no new batch or tenant starts until someone resumes the run.',
    resume: 'Resuming lets the run start new tenants and batches again.',
    tune: `New tenants and batches use the new values: parallelism ${TUNING_LIMITS.parallelism.min}–${TUNING_LIMITS.parallelism.max} tenants at once, batch size ${count(TUNING_LIMITS.batchSize.min)}–${count(TUNING_LIMITS.batchSize.max)} rows. Leave a field empty to keep it.`,
  };
  const label: Record<RunAction | 'tune', string> = {
    cancel: 'Cancel the run',
    pause: 'Pause the run',
    resume: 'Resume the run',
    tune: 'Tune the run',
  };
  return {
    id: run.id,
    href: runHref(run.id),
    runbookTitle: runbookTitle(run.runbook),
    scope: scopeText(run),
    action,
    postUrl: `${runHref(run.id)}/actions/${action}`,
    title: label[action],
    explain: explain[action],
    tune: action === 'tune',
    limits: TUNING_LIMITS,
    fields,
    reasonMin: REASON_LENGTH.min,
    reasonMax: REASON_LENGTH.max,
    reasonLength: [...fields.reason.trim()].length,
    problems,
    csrfToken,
  };
}
