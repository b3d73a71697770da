import type { Customer } from '../../../../auth/sessions.js';
import type { LifecycleStatus } from '../../../../runbooks/findings-lifecycle/rules.js';
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
  trigger: TriggerView | null;
  queued: boolean;
}) {
  return {
    tenantName: input.customer.tenantName,
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
