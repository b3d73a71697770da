import type { Customer } from '../../../../auth/sessions.js';
import type { LifecycleStatus } from '../../../../catalog/findings-lifecycle/rules.js';
import { count, utcTime } from '../../../../format.js';
import type { FindingStatsRow } from './findingStats.js';
import type { FindingRow, FindingsPage } from './listFindings.js';

/** The plain view models of the customer's findings page; views never see database rows. */

/** The statuses a finding has under the lifecycle rules (legacy rows may still hold others). */
export const FINDING_STATUSES = [
  'new',
  'triaged',
  'resolved',
  'reopened',
  'risk_accepted',
] as const satisfies readonly LifecycleStatus[];
export type FindingStatus = (typeof FINDING_STATUSES)[number];

export const FINDINGS_PATH = '/admin/findings';
/** The legacy maintenance trigger, registered only with ADMIN_MAINTENANCE_TRIGGER=on. */
export const MAINTENANCE_TRIGGER_PATH = '/admin/maintenance/findings-lifecycle';

/** A day as a customer reads it (UTC), with the instant for `<time datetime>`. */
const day = (date: Date | null) => (date ? { iso: date.toISOString(), text: date.toISOString().slice(0, 10) } : null);

function findingView(row: FindingRow) {
  return {
    title: row.title,
    severity: row.severity,
    status: row.status ?? '—',
    /** In the table's order: first seen, last seen, due, resolved. */
    dates: [row.firstSeenAt, row.lastSeenAt, row.dueAt, row.resolvedAt].map(day),
  };
}

const DURATION_UNITS = [
  ['d', 24 * 60 * 60],
  ['h', 60 * 60],
  ['min', 60],
  ['s', 1],
] as const;

/** "3 d 4 h": the largest whole unit and, when not zero, the next one; the rest is left off. */
export function durationText(seconds: number): string {
  const magnitude = Math.abs(seconds);
  const largest = DURATION_UNITS.findIndex(([, size]) => magnitude >= size);
  if (largest === -1) return '0 s';
  const [unit, size] = DURATION_UNITS[largest]!;
  const parts = [`${count(Math.floor(magnitude / size))} ${unit}`];
  const next = DURATION_UNITS[largest + 1];
  const rest = next ? Math.floor((magnitude % size) / next[1]) : 0;
  if (next && rest > 0) parts.push(`${rest} ${next[0]}`);
  // Only a legacy finding resolved before it was first seen makes a mean negative.
  return `${seconds < 0 ? '-' : ''}${parts.join(' ')}`;
}

/** The statistics at the top of the page, in the order shown; null before they were first computed. */
function statsView(row: FindingStatsRow | null) {
  if (!row) return null;
  const mean = row.meanTimeToResolveSeconds;
  return {
    figures: [
      { label: 'Open critical', value: count(row.openCritical) },
      { label: 'Open high', value: count(row.openHigh) },
      { label: 'Open medium', value: count(row.openMedium) },
      { label: 'Open low', value: count(row.openLow) },
      { label: 'Overdue', value: count(row.overdue) },
      { label: 'Resolved in the last 30 days', value: count(row.resolved30d) },
      // numeric arrives as text; a mean in whole seconds is far inside a double's exact integers.
      { label: 'Mean time to resolve', value: mean === null ? '—' : durationText(Number(mean)) },
    ],
    computedAt: { iso: row.computedAt.toISOString(), text: utcTime(row.computedAt) },
  };
}

function findingsHref(query: { status?: string; before?: number }): string {
  const params = new URLSearchParams();
  if (query.status) params.set('status', query.status);
  if (query.before !== undefined) params.set('before', String(query.before));
  const search = params.toString();
  return search ? `${FINDINGS_PATH}?${search}` : FINDINGS_PATH;
}

/** The legacy maintenance trigger's form, when it is switched on. */
export interface TriggerView {
  action: string;
  /** Minted with the form: a double submit starts one rebuild. */
  idempotencyKey: string;
  /** Why the last press started nothing, in the customer's words. */
  problem: string | null;
}

export function findingsPageView(input: {
  customer: Customer;
  csrfToken: string;
  status: FindingStatus | undefined;
  before: number | undefined;
  page: FindingsPage;
  stats: FindingStatsRow | null;
  trigger: TriggerView | null;
  queued: boolean;
}) {
  return {
    tenantName: input.customer.tenantName,
    stats: statsView(input.stats),
    csrfToken: input.csrfToken,
    action: FINDINGS_PATH,
    status: input.status ?? '',
    statuses: FINDING_STATUSES,
    findings: input.page.findings.map(findingView),
    // Keyset pages only go forward; "newest" goes back to the start.
    newerHref: input.before === undefined ? null : findingsHref({ status: input.status }),
    olderHref:
      input.page.nextBefore === null ? null : findingsHref({ status: input.status, before: input.page.nextBefore }),
    trigger: input.trigger,
    // Intent only: the customer learns that the rebuild is queued, nothing of the run itself.
    toast: input.queued ? 'Rebuild queued' : null,
  };
}
