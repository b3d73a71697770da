import { plural, utcTime } from '../../../../format.js';
import { CHANGE_NOTICES } from '../../../../runbooks/approvals/changeNotices.js';
import type { NotificationEntry } from '../../../../runbooks/notifications.js';
import { runbookTitle } from '../../../../runbooks/registry.js';
import { describeScope } from '../../../../runbooks/scope.js';
import type { RunCounts } from '../../../../runbooks/model.js';

/** The plain view models of the notifications page; views never see database rows. */

const textOf = (value: unknown) => (typeof value === 'string' && value !== '' ? value : null);

const OUTCOME_TEXT: Record<string, string> = {
  succeeded: 'succeeded',
  partially_succeeded: 'partially succeeded',
  failed: 'failed',
  cancelled: 'was cancelled',
};

/** How many tenants made it, for an outcome that is not plain success. */
function tenantsText(counts: unknown): string {
  const { tenantsSucceeded, tenantsFailed } = (counts ?? {}) as RunCounts;
  if (tenantsSucceeded === undefined && tenantsFailed === undefined) return '';
  return `: ${plural(tenantsSucceeded, 'tenant')} succeeded, ${tenantsFailed ?? 0} failed`;
}

/** How a change request ended, as its requester's notice says it. */
function decidedText(data: Record<string, unknown>): string {
  const by = textOf(data.by);
  const message = textOf(data.message);
  switch (textOf(data.status)) {
    case 'approved':
      return `was approved${by ? ` by ${by}` : ''}; its run is queued`;
    case 'rejected':
      return `was rejected${by ? ` by ${by}` : ''}${message ? `: ${message}` : ''}`;
    case 'expired':
      return 'expired before it had the approvals it needed';
    case 'voided':
      return `was voided: the data changed since its preflight${message ? ` (${message})` : ''}`;
    default:
      return `is ${textOf(data.status) ?? 'decided'}`;
  }
}

/**
 * One line in an operator's words: "Close stale findings on all tenants succeeded",
 * "… paused itself: canary done: 2 succeeded, 0 failed", "a@example.com asks for approval: …".
 * The run's (or change request's) row gives the scope; a notice whose row is gone still reads
 * from its own data.
 */
function notificationText(entry: NotificationEntry): string {
  const change = entry.changeRequest;
  if (entry.type === CHANGE_NOTICES.requested || entry.type === CHANGE_NOTICES.decided) {
    const runbook = change?.runbook ?? textOf(entry.data.runbook);
    const what = `${runbook ? runbookTitle(runbook) : 'a runbook'}${change ? ` on ${describeScope(change.scope)}` : ''}`;
    return entry.type === CHANGE_NOTICES.requested
      ? `${textOf(entry.data.requester) ?? 'An operator'} asks for approval: ${what}`
      : `Your change request for ${what} ${decidedText(entry.data)}`;
  }
  const runbook = entry.run?.runbook ?? textOf(entry.data.runbook);
  const subject = `${runbook ? runbookTitle(runbook) : 'A run'}${entry.run ? ` on ${describeScope(entry.run.scope)}` : ''}`;
  switch (entry.type) {
    case 'OperationRunCompleted': {
      const outcome = textOf(entry.data.outcome);
      const done = (outcome && OUTCOME_TEXT[outcome]) ?? 'completed';
      return `${subject} ${done}${outcome === 'succeeded' ? '' : tenantsText(entry.data.counts)}`;
    }
    case 'OperationRunPaused': {
      const reason = textOf(entry.data.reason);
      return `${subject} paused itself${reason ? `: ${reason}` : ''}`;
    }
    default:
      return `${subject}: ${entry.type}`;
  }
}

/**
 * The list (the page's and the partial htmx swaps after marking read). `before` is the page's
 * own cursor: the mark-read forms carry it, so they come back to the same page. `unread` counts
 * every page's (null: not counted), so "Mark all read" shows while any is left. A notice links
 * to its run or change request through its `open` address, which marks it read on the way, and
 * only when that exists and the operator may view runs (a link to a 403 is no use).
 */
export function notificationListView(page: {
  entries: NotificationEntry[];
  hasOlder: boolean;
  before: number | undefined;
  unread: number | null;
  csrfToken: string;
  canViewRuns: boolean;
}) {
  const back = page.before === undefined ? '' : `?before=${page.before}`;
  const last = page.entries.at(-1);
  return {
    csrfToken: page.csrfToken,
    readAllAction: `/system/notifications/read-all${back}`,
    canReadAll: page.unread === null ? page.entries.length > 0 : page.unread > 0,
    newerHref: page.before === undefined ? null : '/system/notifications',
    olderHref: page.hasOlder && last ? `/system/notifications?before=${last.id}` : null,
    items: page.entries.map((entry) => ({
      id: entry.id,
      text: notificationText(entry),
      href: (entry.changeRequest ?? entry.run) && page.canViewRuns ? `/system/notifications/${entry.id}/open` : null,
      unread: entry.readAt === null,
      readAction: `/system/notifications/${entry.id}/read${back}`,
      createdAt: entry.createdAt.toISOString(),
      createdAtText: utcTime(entry.createdAt),
    })),
  };
}
