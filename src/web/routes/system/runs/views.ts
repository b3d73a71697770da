import { CAPABILITIES } from '../../../../runbooks/capabilities.js';
import { actionRefusal, type RunAction } from '../../../../runbooks/control.js';
import { count, counted, plural, utcTime } from '../../../../format.js';
import { progressText, runFraction } from '../../../../runbooks/progressText.js';
import { RUNBOOKS, runbookTitle } from '../../../../runbooks/registry.js';
import {
  auditReason,
  type AuditTrailEntry,
  type RunLive,
  type RunRecord,
  type RunSummary,
} from '../../../../runbooks/runs.js';
import {
  formatGateValue,
  gateDifferences,
  gatesLine,
  GATE_FIELD_NAMES,
  GATE_FIELDS,
  gateValue,
  kebabCase,
  type GateFieldName,
} from '../../../../runbooks/health/gateFields.js';
import { phaseOf, runClock } from '../../../../runbooks/runPhase.js';
import type { RunWatch } from '../../../../runbooks/runWatch.js';
import { describeScope } from '../../../../runbooks/scope.js';
import { REASON_LENGTH } from '../../../../runbooks/validateStart.js';
import { TUNING_LIMITS } from '../../../../workflows/queries.js';
import { WINDOW_CLOSED, type RunCounts, type TuneResult } from '../../../../runbooks/model.js';
import { inDeclaredOrder, NO_PARAMETERS, parameterText } from '../../../../runbooks/parameters.js';
import { batchSizeChange, batchSizeName, batchSizeText } from '../../../../runbooks/sizing/batchSizeText.js';
import { NOTICES, type Notice } from './notice.js';

/** The plain view models the runs pages render; views never see database rows. */

const runbookOf = (id: string) => RUNBOOKS.find((runbook) => runbook.id === id);
const unitOf = (run: Pick<RunRecord, 'runbook'>) => runbookOf(run.runbook)?.unit ?? 'rows';
const scopeText = (run: Pick<RunRecord, 'scope'>) => describeScope(run.scope);
const runHref = (id: string) => `/system/ops/runs/${id}`;

/** "45 s", "3 min 5 s", "2 h 4 min": a span as people read it. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const minutes = Math.floor((s % 3600) / 60);
  return `${Math.floor(s / 3600)} h${minutes ? ` ${minutes} min` : ''}`;
}

/** A run's one status badge (`partials/status/<phase>`): its phase, and how a completed run ended. */
function badge(run: Pick<RunRecord, 'status' | 'outcome' | 'pausedAt' | 'cancelRequestedAt' | 'heldSince'>) {
  const outcome = run.outcome?.replace('_', ' ') ?? 'completed';
  return { phase: phaseOf(run), outcome: run.outcome, outcomeLabel: outcome[0]!.toUpperCase() + outcome.slice(1) };
}

/** The share done: rows examined of those the preflight counted, else tenants worked through. */
function fractionOf(run: RunLive, inScope: number | null): number {
  if (run.status === 'completed' && run.outcome !== 'cancelled') return 1;
  if (inScope && inScope > 0)
    return Math.min(run.status === 'completed' ? 1 : 0.99, (run.counts.examined ?? 0) / inScope);
  return runFraction(run);
}

// The view models below nest their parts (`badge`) rather than spread them: see Views
// (templates.ts) for what a spread followed by more properties costs on a page of rows.

/** An instant for a `<time>`: in the one human form, its exact value for the `title`. */
function instant(date: Date) {
  return { iso: date.toISOString(), text: utcTime(date) };
}

export function runListView(run: RunSummary, now: Date) {
  return {
    badge: badge(run),
    id: run.id,
    shortId: run.id.slice(0, 8),
    href: runHref(run.id),
    runbookTitle: runbookTitle(run.runbook),
    scope: scopeText(run),
    initiator: run.initiatorLabel ?? run.source,
    reason: run.reason.length > 120 ? `${run.reason.slice(0, 119)}…` : run.reason,
    percent: Math.floor(runFraction(run) * 100),
    created: instant(run.createdAt),
    age: `${duration((now.getTime() - run.createdAt.getTime()) / 1000)} ago`,
  };
}

/** The run's totals as a few figures in a row: the tenants by state (those there are), then the work. */
function talliesOf(counts: RunCounts, unit: string) {
  const tenants: Array<[keyof RunCounts, string]> = [
    ['tenantsSucceeded', 'succeeded'],
    ['tenantsFailed', 'failed'],
    ['tenantsRunning', 'running'],
    ['tenantsPending', 'pending'],
    ['tenantsCancelled', 'cancelled'],
  ];
  return [
    { label: counts.tenants === 1 ? 'tenant' : 'tenants', value: count(counts.tenants) },
    ...tenants
      .filter(([key]) => ((counts[key] as number | undefined) ?? 0) > 0)
      .map(([key, label]) => ({ label, value: count(counts[key] as number) })),
    { label: `${unit} examined`, value: count(counts.examined) },
    { label: 'changed', value: count(counts.changed) },
    { label: counts.batches === 1 ? 'batch' : 'batches', value: count(counts.batches) },
  ];
}

/** Whether the run's change window paused it (at its cutoff): resuming it by hand is then an override. */
export function pausedByWindow(run: Pick<RunLive, 'status' | 'pausedAt' | 'pauseReason'>): boolean {
  return run.status !== 'completed' && run.pausedAt !== null && run.pauseReason === WINDOW_CLOSED;
}

/** Why a manager without the override may not resume a run its window paused. */
export const OVERRIDE_NEEDED =
  'Its change window paused this run; resuming it before the window opens is an override of the change window, ' +
  `which needs the capability ${CAPABILITIES.windowsOverride}.`;

/** What the viewer may do to runs: manage them, and override a change window. */
interface RunViewer {
  canManage: boolean;
  canOverride: boolean;
}

/** What an operator may do to the run in its present state, each a link to its confirmation. */
function actionsOf(
  run: RunLive,
  viewer: RunViewer,
): Array<{ action: RunAction | 'tune'; label: string; href: string; style: string }> {
  if (!viewer.canManage || run.cancelRequestedAt) return [];
  const override = pausedByWindow(run);
  // The way on (resume) is the strong button; cancel is marked as the one that cannot be undone.
  const actions: Array<[RunAction | 'tune', string, string]> = [
    ['resume', override ? 'Resume (override the window)' : 'Resume', 'primary'],
    ['pause', 'Pause', 'secondary'],
    ['tune', 'Tune', 'secondary outline'],
    ['cancel', 'Cancel', 'danger outline'],
  ];
  return actions
    .filter(([action]) => !actionRefusal(run, action))
    .filter(([action]) => action !== 'resume' || !override || viewer.canOverride)
    .map(([action, label, style]) => ({ action, label, style, href: `${runHref(run.id)}/actions/${action}` }));
}

/** The change window a run waits for, said prominently: when it starts, or when it goes on. */
/** What a run waiting for a change window (queued, or paused at its cutoff) waits for. */
function windowWaitOf(run: RunLive) {
  const opensAt = run.windowOpensAt;
  if (!opensAt || run.status === 'completed' || run.cancelRequestedAt) return null;
  if (pausedByWindow(run))
    return { text: 'Paused by its change window: it goes on when the window opens at', at: instant(opensAt) };
  if (run.status === 'queued') return { text: 'Waits for the change window that opens at', at: instant(opensAt) };
  return null;
}

/**
 * Rate and what is left, or how long it took: by the run's working time only (paused time
 * apart), so a run just resumed is neither slow nor fast, and a paused one promises nothing.
 * Time held by the health gates is working time: the ETA counts on holds like the past ones.
 */
function pace(run: RunLive, inScope: number | null, clock: ReturnType<typeof runClock>) {
  const { workedMs, pausedMs, heldMs } = clock;
  const seconds = workedMs / 1000;
  const examined = run.counts.examined ?? 0;
  const perSecond = seconds > 0 ? examined / seconds : 0;
  const rate = perSecond > 0 ? `${count(Math.round(perSecond))} ${unitOf(run)}/s` : null;
  const held = heldMs >= 1000 ? `, held ${duration(heldMs / 1000)}` : '';
  const paused = pausedMs >= 1000 ? `, paused ${duration(pausedMs / 1000)}` : '';
  if (!run.startedAt) return { rate: null, eta: null, took: null };
  if (run.status === 'completed') return { rate, eta: null, took: `worked ${duration(seconds)}${held}${paused}` };
  if (run.pausedAt || run.cancelRequestedAt) return { rate, eta: '—', took: null };
  if (!inScope || perSecond <= 0) return { rate, eta: null, took: null };
  return { rate, eta: `about ${duration(Math.max(0, inScope - examined) / perSecond)} left`, took: null };
}

/** The parallelism and batch size the run goes on with, as recorded at its start and at each tune. */
function settingsText(run: Pick<RunLive, 'scopeKind' | 'settings' | 'counts'>): string | null {
  const { parallelism } = run.settings;
  const parts = [
    run.scopeKind !== 'tenant' && parallelism !== undefined ? `${plural(parallelism, 'tenant')} at once` : null,
    batchSizeText(run.settings, run.counts.batchSize),
  ].filter((part): part is string => part !== null);
  return parts.length ? parts.join(' · ') : null;
}

/**
 * The part of the run page that updates while the run is active, and stops when it is terminal:
 * from one watch, so its figures and the tenants and audit trail beside them agree.
 */
export function liveView(watch: RunWatch, options: { now: Date } & RunViewer) {
  const run = { ...watch.run, counts: watch.counts };
  const fraction = fractionOf(run, watch.inScope);
  const percent = Math.floor(fraction * 100);
  const cancelled = run.status === 'completed' && run.outcome === 'cancelled';
  const clock = runClock(run, options.now);
  return {
    badge: badge(run),
    id: run.id,
    // Polled while there is something to watch; the terminal render has no trigger, so it stops.
    pollUrl: run.status === 'completed' ? null : `${runHref(run.id)}/progress`,
    percent,
    share: cancelled ? `cancelled at ${percent} %` : `${percent} %`,
    text: progressText(run, unitOf(run)),
    window: windowWaitOf(run),
    ...pace(run, watch.inScope, clock),
    settings: settingsText(run),
    gates: run.status === 'completed' ? null : gatesLine(run.settings.gates),
    pause:
      run.pausedAt && run.status !== 'completed'
        ? { since: instant(run.pausedAt), by: run.pausedBy ?? '', reason: run.pauseReason ?? '' }
        : null,
    cancelling: run.cancelRequestedAt && run.status !== 'completed' ? instant(run.cancelRequestedAt) : null,
    // What the health gates hold it for, while they do and nothing else (a pause, a cancel) says more.
    held:
      run.heldSince && phaseOf(run) === 'held'
        ? {
            since: instant(run.heldSince),
            reason: run.heldReason ?? '',
            heldFor: duration(clock.heldMs / 1000),
          }
        : null,
    notStarted: cancelled && watch.notStarted > 0 ? `${plural(watch.notStarted, 'tenant')} did not start.` : null,
    error: run.error,
    tallies: talliesOf(run.counts, unitOf(run)),
    actions: actionsOf(run, options),
    // A manager who may not override sees why the run has no Resume.
    why:
      options.canManage && !options.canOverride && !run.cancelRequestedAt && pausedByWindow(run)
        ? OVERRIDE_NEEDED
        : null,
  };
}

/** The run's tenants as the watch read them: failed first, with their names. */
export function tenantsView(watch: RunWatch) {
  const total = watch.counts.tenants ?? 0;
  return {
    total,
    more: Math.max(0, total - watch.items.length),
    exportHref: `${runHref(watch.run.id)}/export?format=csv`,
    items: watch.items.map((item) => ({
      tenant: item.externalId,
      name: item.tenantName,
      status: item.status,
      examined: count(item.counts.examined),
      changed: count(item.counts.changed),
      // A cancelled tenant's reason is the run's, said once above the table.
      error: item.status === 'cancelled' ? '' : (item.error ?? ''),
    })),
  };
}

/** A tune's change, "parallelism 8 → 4, batch size 500 → 200, max-replica-lag 5 s → 10 s", from its audit metadata. */
function tuneText(metadata: unknown): string {
  const { from, to } = (metadata ?? {}) as Partial<TuneResult>;
  if (!from || !to) return '';
  return [
    from.parallelism !== to.parallelism ? `parallelism ${from.parallelism} → ${to.parallelism}` : null,
    batchSizeChange(from, to),
    ...gateDifferences(from.gates, to.gates),
  ]
    .filter((part): part is string => part !== null)
    .join(', ');
}

/** A hold's end, "held 14 s", from its audit metadata. */
function releaseText(metadata: unknown): string {
  const { heldMs } = (metadata ?? {}) as { heldMs?: number };
  return typeof heldMs === 'number' ? `held ${duration(heldMs / 1000)}` : '';
}

export function auditView(audit: AuditTrailEntry[]) {
  return audit.map((event) => ({
    at: instant(event.occurredAt),
    action: event.action,
    actor: event.actorLabel ?? event.actorKind,
    change:
      event.action === 'runbook.tuned'
        ? tuneText(event.metadata)
        : event.action === 'runbook.released'
          ? releaseText(event.metadata)
          : '',
    reason: auditReason(event) ?? '',
  }));
}

export interface RunPageContext {
  now: Date;
  canManage: boolean;
  canOverride: boolean;
  canRetry: boolean;
  csrfToken: string;
  temporalUiUrl: string;
  temporalNamespace: string;
  retries: Array<Pick<RunRecord, 'id' | 'status' | 'outcome'>>;
  /** The intent toast of the start or action just asked for, shown once. */
  notice: Notice | null;
}

/** "Rebuild Findings Lifecycle — all tenants": the run's runbook and scope, its page's title. */
function runTitle(run: Pick<RunRecord, 'runbook' | 'scope'>): string {
  return `${runbookTitle(run.runbook)} — ${scopeText(run)}`;
}

export function runDetailView(run: RunRecord, watch: RunWatch, context: RunPageContext) {
  const failed = watch.counts.tenantsFailed ?? 0;
  return {
    id: run.id,
    toast: context.notice
      ? {
          text:
            context.notice === 'started' || context.notice === 'approved'
              ? `${runbookTitle(run.runbook)} ${NOTICES[context.notice]}`
              : NOTICES[context.notice],
        }
      : null,
    title: runTitle(run),
    // A run the approval policy held: who let it start, and the request it carries out.
    approval: run.changeRequestId
      ? {
          by: run.approvedBy?.length ? run.approvedBy.join(', ') : null,
          id: run.changeRequestId,
          shortId: run.changeRequestId.slice(0, 8),
          href: `/system/ops/changes/${run.changeRequestId}`,
        }
      : null,
    runbookId: run.runbook,
    scope: scopeText(run),
    parameters: inDeclaredOrder(runbookOf(run.runbook)?.parameters ?? NO_PARAMETERS, run.parameters).map(
      ([name, value]) => ({ name, value: parameterText(value) }),
    ),
    asOf: instant(run.asOf),
    reason: run.reason,
    initiator: run.initiatorLabel ?? run.source,
    source: run.source,
    created: instant(run.createdAt),
    preflight: run.preflightId
      ? { id: run.preflightId, inScope: watch.inScope === null ? null : counted(watch.inScope, unitOf(run)) }
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
    live: liveView(watch, context),
    tenants: tenantsView(watch),
    audit: auditView(watch.audit),
  };
}

/** A start's guards in words, one a line (a run's, or a change request's that will become one). */
export function guardsText(run: Pick<RunRecord, 'guards'>): string[] {
  const { guards } = run;
  return [
    guards.maxFailedTenants !== undefined
      ? `pause when more than ${counted(guards.maxFailedTenants, 'tenants')} fail`
      : null,
    guards.maxFailedPercent !== undefined ? `pause when more than ${guards.maxFailedPercent}% of tenants fail` : null,
    guards.canary ? `canary wave of ${counted(guards.canary.count, 'tenants')}, then pause for a go-ahead` : null,
  ].filter((line): line is string => line !== null);
}

/** What an action's form holds, as typed: the reason, and the tune's values (empty: keep). */
export type ActionFields = { reason: string; parallelism: string; batchSize: string; batchTarget: string } & Record<
  GateFieldName,
  string
>;

export const emptyActionFields = (): ActionFields => ({
  reason: '',
  parallelism: '',
  batchSize: '',
  batchTarget: '',
  ...(Object.fromEntries(GATE_FIELD_NAMES.map((name) => [name, ''])) as Record<GateFieldName, string>),
});

/** A health-gate threshold's label in the tune form, and in what it says of a bad value: "Max replica lag". */
export function gateLabel(name: GateFieldName): string {
  const words = kebabCase(name).replace(/-/g, ' ');
  return words[0]!.toUpperCase() + words.slice(1);
}

/** The confirmation step of an action on a run: what it does, and a reason. */
export function actionView(
  run: RunRecord,
  action: RunAction | 'tune',
  fields: ActionFields,
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
    tune: `New tenants and batches use the new values: parallelism ${TUNING_LIMITS.parallelism.min}–${TUNING_LIMITS.parallelism.max} tenants at once, batch size auto (each batch sized to take its target) or ${count(TUNING_LIMITS.batchSize.min)}–${count(TUNING_LIMITS.batchSize.max)} rows, and the health gates' thresholds from the next batch on. Leave a field empty to keep it.`,
  };
  const label: Record<RunAction | 'tune', string> = {
    cancel: 'Cancel the run',
    pause: 'Pause the run',
    resume: 'Resume the run',
    tune: 'Tune the run',
  };
  // Resuming a run its change window paused goes on outside the window: an override, said as one.
  if (action === 'resume' && pausedByWindow(run)) {
    const opens = run.windowOpensAt
      ? ` it goes on by itself when the window opens at ${utcTime(run.windowOpensAt)}.`
      : '';
    label.resume = 'Override the change window and resume the run';
    explain.resume =
      `Its change window paused this run at the cutoff;${opens || ' no window opens for it within a year.'} ` +
      `Resuming it now is an override of the change window: it needs the capability ${CAPABILITIES.windowsOverride}, ` +
      'and it is audited as runbook.window_overridden with your reason.';
  }
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
    // A one-tenant run has no parallelism to tune.
    multiTenant: run.scopeKind !== 'tenant',
    // What the fields change from, as recorded (a run started before they were has none).
    current: {
      parallelism: run.settings.parallelism ?? null,
      batchSize: run.settings.batchSize === undefined ? null : batchSizeName(run.settings),
      sizeNow:
        run.settings.batchTargetMs === undefined || run.counts.batchSize === undefined
          ? null
          : count(run.counts.batchSize),
    },
    gates: GATE_FIELD_NAMES.map((name) => ({
      name,
      label: gateLabel(name),
      help: GATE_FIELDS[name].help,
      now: formatGateValue(name, gateValue(run.settings.gates, name)),
      value: fields[name],
    })),
    // Open when a threshold was typed (and refused), so that what to fix shows.
    gatesOpen: GATE_FIELD_NAMES.some((name) => fields[name] !== ''),
    fields,
    reasonMin: REASON_LENGTH.min,
    reasonMax: REASON_LENGTH.max,
    reasonLength: [...fields.reason.trim()].length,
    problems,
    csrfToken,
  };
}
