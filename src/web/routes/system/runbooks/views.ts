import { count, counted, plural, utcTime } from '../../../../format.js';
import { inDeclaredOrder, NO_PARAMETERS, parameterText } from '../../../../runbooks/parameters.js';
import type { PreflightReport } from '../../../../runbooks/preflight.js';
import type { RunbookRefusal } from '../../../../runbooks/refusal.js';
import { RUNBOOKS } from '../../../../runbooks/registry.js';
import { ALL_TENANTS_PHRASE } from '../../../../runbooks/model.js';
import { REASON_LENGTH } from '../../../../runbooks/validateStart.js';
import { windowStartText } from '../../../../runbooks/windows/runWindows.js';
import type { WindowState } from '../../../../runbooks/windows/windowSchedule.js';

/** The plain view models the runbooks page and its preflight/confirmation partial render. */

/** The scope as the form sends it: one tenant by external id, or all tenants. */
export interface ScopeFields {
  scope: 'tenant' | 'all_tenants';
  tenant: string;
  /** A run whose failed tenants are the scope (the run page's "Retry"), or ''. */
  retryOf: string;
}

/** The optional error budget and canary wave of a multi-tenant start, as typed. */
export interface GuardFields {
  maxFailedTenants: string;
  maxFailedPercent: string;
  /** 'on' when the canary box is ticked. */
  canary: string;
  canaryCount: string;
  canaryTenants: string;
}

/** What the operator typed into the confirmation step, kept when a start is refused. */
export interface ConfirmFields {
  preflightId: string;
  idempotencyKey: string;
  reason: string;
  confirmation: string;
  guards: GuardFields;
}

/** Where a refusal's message goes: next to the field it concerns, or at the top. */
interface Problems {
  top: string | null;
  /** The scope's tenant field: an unknown, ambiguous or platform tenant. */
  tenant: string | null;
  reason: string | null;
  confirmation: string | null;
  guards: string | null;
  /** A run holding the scope, linked from the top message. */
  holder: { id: string; href: string } | null;
  /** The preflight cannot be started against any more: offer a new one. */
  newPreflight: boolean;
}

const NO_PROBLEMS: Problems = {
  top: null,
  tenant: null,
  reason: null,
  confirmation: null,
  guards: null,
  holder: null,
  newPreflight: false,
};
const PREFLIGHT_CODES = new Set(['preflight_missing', 'preflight_mismatch', 'preflight_stale', 'preflight_drift']);
const HOLDER = /\bRun ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/i;

function problemsOf(refusal: RunbookRefusal): Problems {
  switch (refusal.code) {
    case 'reason_length':
    case 'reason_characters':
      return { ...NO_PROBLEMS, reason: refusal.message };
    case 'confirmation':
      return { ...NO_PROBLEMS, confirmation: refusal.message };
    case 'unknown_tenant':
    case 'ambiguous_tenant':
    case 'platform_tenant':
      return { ...NO_PROBLEMS, tenant: refusal.message };
    case 'invalid_guards':
      return { ...NO_PROBLEMS, guards: refusal.message };
    case 'overlapping_run': {
      const id = HOLDER.exec(refusal.message)?.[1];
      return { ...NO_PROBLEMS, top: refusal.message, holder: id ? { id, href: `/system/ops/runs/${id}` } : null };
    }
    default:
      return { ...NO_PROBLEMS, top: refusal.message, newPreflight: PREFLIGHT_CODES.has(refusal.code) };
  }
}

/** A timestamp as PostgreSQL and JSON write them ("2026-12-01T11:41:30.123456+00:00"). */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)$/;

/** A sample value as people read it: a timestamp in the console's one form, its exact value kept for the `title`. */
function text(value: unknown): { text: string; exact: string | null } {
  if (value === null || value === undefined || value === '') return { text: '—', exact: null };
  if (typeof value !== 'string') return { text: JSON.stringify(value), exact: null };
  const date = TIMESTAMP.test(value) ? new Date(value) : null;
  return date && !Number.isNaN(date.getTime()) ? { text: utcTime(date), exact: value } : { text: value, exact: null };
}

const instant = (date: Date) => ({ iso: date.toISOString(), text: utcTime(date) });

const record = (value: unknown): Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

/**
 * A sample entry's fields whose values differ, before and after. A report saved before samples
 * were `SampleChange`s holds another shape (`findingId`, `changedFields`, whole records): its
 * entries show what can be read of them, and nothing that cannot breaks the page.
 */
function sampleRow(entry: unknown) {
  const sample = record(entry);
  const before = record(sample.before);
  const after = record(sample.after);
  const differs = (field: string) => JSON.stringify(before[field]) !== JSON.stringify(after[field]);
  const fields = Array.isArray(sample.changedFields)
    ? sample.changedFields.map(String)
    : [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(differs);
  return {
    key: text(sample.key ?? sample.findingId ?? sample.id).text,
    changes: fields.map((field) => ({ field, before: text(before[field]), after: text(after[field]) })),
  };
}

/** The heading of the sample's key column; an older report has none, so its runbook's, if still registered. */
function sampleKeyOf(report: PreflightReport): string {
  const saved = report.sampleKey as string | undefined;
  return saved ?? RUNBOOKS.find((runbook) => runbook.id === report.runbook)?.sampleKey ?? 'Row';
}

/** A saved preflight's report as `partials/runbooks/report` shows it (here, and on a change request's page). */
export function reportView(report: PreflightReport, tenantNames: ReadonlyMap<string, string>) {
  // A report read back from jsonb has its keys in jsonb's order: shown in the runbook's.
  const declared = RUNBOOKS.find((runbook) => runbook.id === report.runbook)?.parameters ?? NO_PARAMETERS;
  return {
    scope: report.scope.description,
    parameters: inDeclaredOrder(declared, report.parameters ?? {}).map(([name, value]) => ({
      name,
      value: parameterText(value),
    })),
    asOf: report.asOf ? instant(new Date(report.asOf)) : null,
    unit: report.unit,
    /** The unit, capitalized, for the table's row headers. */
    unitTitle: report.unit.charAt(0).toUpperCase() + report.unit.slice(1),
    tenantsInScope: count(report.tenantsInScope),
    inScope: count(report.inScope),
    toChange: count(report.toChange),
    // "18,000 <unit> in 20 tenants will change": what Start will do, in one sentence.
    summary: `${counted(report.toChange, report.unit)} ` + `in ${plural(report.tenantsInScope, 'tenant')} will change.`,
    // jsonb keeps no order: the fields by name, the same every time.
    breakdown: Object.entries(report.breakdown)
      .filter(([, count]) => count > 0)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([field, n]) => ({ field, count: count(n) })),
    topTenants: report.topTenants.map((tenant) => ({
      externalId: tenant.externalId,
      name: tenantNames.get(tenant.externalId) ?? '',
      inScope: count(tenant.inScope),
      toChange: count(tenant.toChange),
    })),
    sampleKey: sampleKeyOf(report),
    sample: (Array.isArray(report.sample) ? (report.sample as unknown[]) : []).map(sampleRow),
  };
}

/** What the preflight already knows would stop or void a start, said before the operator confirms. */
export interface StartOutlook {
  /** An active run that covers part of the scope, and the refusal a start would get while it is there. */
  holder: { id: string; message: string } | null;
  /** Until when a start may name this preflight. */
  validUntil: Date | null;
  /** Whether the change windows let a run started now begin at once, or when they would. */
  window: WindowState | null;
}

/**
 * The preflight's place on the page: its report and the confirmation step, or only a refusal
 * (with the scope, for the "run a new preflight" button, and what was typed, kept for it).
 */
export function resultView(input: {
  runbookId: string;
  csrfToken: string;
  scope: ScopeFields;
  /** The parameters the result was asked for, as hidden form fields for its next step. */
  parameters: Array<{ name: string; value: string }>;
  report: PreflightReport | null;
  confirm: ConfirmFields | null;
  refusal: RunbookRefusal | null;
  outlook?: StartOutlook;
  tenantNames?: ReadonlyMap<string, string>;
}) {
  const problems = input.refusal ? problemsOf(input.refusal) : NO_PROBLEMS;
  // Without the confirmation step on the page, a field's message has nowhere else to go.
  const showConfirm = Boolean(input.report && input.confirm) && !problems.newPreflight;
  const top = showConfirm
    ? problems.top
    : (problems.top ?? problems.reason ?? problems.confirmation ?? problems.guards);
  const report =
    input.report && !problems.newPreflight ? reportView(input.report, input.tenantNames ?? new Map()) : null;
  const holder = input.outlook?.holder ?? null;
  return {
    runbookId: input.runbookId,
    /** The runbook's place on the page: its form's ids end with it. */
    index: RUNBOOKS.findIndex((runbook) => runbook.id === input.runbookId),
    csrfToken: input.csrfToken,
    scope: input.scope,
    parameters: input.parameters,
    problems: { ...problems, top },
    // A new preflight keeps what was typed into the confirmation it replaces.
    kept: problems.newPreflight && input.confirm ? keptFields(input.confirm) : [],
    report,
    outlook: {
      holder: holder && { ...holder, href: `/system/ops/runs/${holder.id}` },
      nothingToDo: input.report !== null && input.report.toChange === 0,
      validUntil: input.outlook?.validUntil ? instant(input.outlook.validUntil) : null,
      window: input.outlook?.window
        ? { text: windowStartText(input.outlook.window), waits: !input.outlook.window.open }
        : null,
    },
    confirm:
      showConfirm && input.confirm
        ? {
            ...input.confirm,
            allTenants: input.scope.scope === 'all_tenants' && !input.scope.retryOf,
            // A budget or a canary needs several tenants to mean anything.
            guarded: (input.report?.tenantsInScope ?? 0) > 1,
            phrase: ALL_TENANTS_PHRASE,
            reasonMin: REASON_LENGTH.min,
            reasonMax: REASON_LENGTH.max,
            reasonLength: [...input.confirm.reason.trim()].length,
          }
        : null,
  };
}

/** The typed fields of a confirmation, as hidden fields of the new preflight that replaces it. */
function keptFields(confirm: ConfirmFields): Array<{ name: string; value: string }> {
  const typed: Record<string, string> = {
    reason: confirm.reason,
    confirmation: confirm.confirmation,
    ...confirm.guards,
  };
  return Object.entries(typed)
    .filter(([, value]) => value !== '')
    .map(([name, value]) => ({ name, value }));
}

export type ResultView = ReturnType<typeof resultView>;
