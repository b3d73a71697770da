import { plural, utcTime } from '../../../../format.js';
import {
  approvalsOf,
  effectiveStatus,
  type ChangeRequestListEntry,
  type ChangeRequestRecord,
  type ChangeRequestRow,
} from '../../../../runbooks/approvals/changeRequests.js';
import { CAPABILITIES } from '../../../../runbooks/capabilities.js';
import type { ChangeStatus } from '../../../../runbooks/model.js';
import { inDeclaredOrder, NO_PARAMETERS, parameterText } from '../../../../runbooks/parameters.js';
import { RUNBOOKS, runbookTitle } from '../../../../runbooks/registry.js';
import { describeScope } from '../../../../runbooks/scope.js';
import { REASON_LENGTH } from '../../../../runbooks/validateStart.js';
import type { reportView } from '../runbooks/views.js';
import { duration, guardsText } from '../runs/views.js';
import { DECISION_NOTICES, type DecisionNotice } from './notice.js';

/** The plain view models of the approvals pages; views never see database rows. */

export const changeHref = (id: string) => `/system/ops/changes/${id}`;
const runHref = (id: string) => `/system/ops/runs/${id}`;

/** What an operator may do to an open change request, each behind its confirmation page. */
export const CHANGE_ACTIONS = ['approve', 'reject', 'withdraw'] as const;
export type ChangeAction = (typeof CHANGE_ACTIONS)[number];

const STATUS_LABELS: Record<ChangeStatus, string> = {
  open: 'Open',
  approved: 'Approved',
  rejected: 'Rejected',
  expired: 'Expired',
  withdrawn: 'Withdrawn',
  voided: 'Void',
};

/** An instant for a `<time>`: in the one human form, its exact value for the `title`. */
const instant = (date: Date) => ({ iso: date.toISOString(), text: utcTime(date) });

const badge = (status: ChangeStatus) => ({ status, label: STATUS_LABELS[status] });

const shorten = (text: string) => (text.length > 120 ? `${text.slice(0, 119)}…` : text);

const titleOf = (request: Pick<ChangeRequestRow, 'runbook' | 'scope'>) =>
  `${runbookTitle(request.runbook)} — ${describeScope(request.scope)}`;

/** How long until the deadline, "in 23 h 59 min", or that it has passed. */
const expiresText = (request: Pick<ChangeRequestRow, 'expiresAt'>, now: Date) => {
  const left = request.expiresAt.getTime() - now.getTime();
  return left > 0 ? `in ${duration(left / 1000)}` : 'passed';
};

/** "0 of 1 approval", "1 of 2 approvals": readable in a phone's card too, where the column has no heading. */
const listedApprovals = (request: ChangeRequestListEntry) =>
  `${request.approvals} of ${plural(request.approvalsRequired, 'approval')}`;

/**
 * The approvals page: the requests waiting (the longest waiting first) and every request, newest
 * first, a page at a time.
 */
export function changeListView(input: {
  open: ChangeRequestListEntry[];
  recent: ChangeRequestListEntry[];
  now: Date;
  next: string | null;
  first: string | null;
  canApprove: boolean;
}) {
  const { now } = input;
  return {
    canApprove: input.canApprove,
    open: input.open.map((request) => ({
      href: changeHref(request.id),
      shortId: request.id.slice(0, 8),
      runbookTitle: runbookTitle(request.runbook),
      scope: describeScope(request.scope),
      requester: request.requesterLabel,
      reason: shorten(request.reason),
      approvals: listedApprovals(request),
      created: instant(request.createdAt),
      waiting: `waiting ${duration((now.getTime() - request.createdAt.getTime()) / 1000)}`,
      expires: instant(request.expiresAt),
      expiresIn: `expires ${expiresText(request, now)}`,
    })),
    recent: input.recent.map((request) => ({
      href: changeHref(request.id),
      shortId: request.id.slice(0, 8),
      runbookTitle: runbookTitle(request.runbook),
      scope: describeScope(request.scope),
      requester: request.requesterLabel,
      badge: badge(effectiveStatus(request, now)),
      approvals: listedApprovals(request),
      created: instant(request.createdAt),
      run: request.runId ? { href: runHref(request.runId), shortId: request.runId.slice(0, 8) } : null,
    })),
    next: input.next,
    first: input.first,
  };
}

/** Who is looking at a request: whether they filed it, and whether they may decide on it. */
export interface ChangeViewer {
  platformUserId: number;
  canApprove: boolean;
}

/** Approvals it still needs. */
const stillNeeded = (request: ChangeRequestRecord) =>
  Math.max(0, request.approvalsRequired - approvalsOf(request).length);

/**
 * Why this viewer may not take `action` on the request as it is, in their words; null when they
 * may. The core decides again on the POST: this only keeps a form from being offered in vain.
 */
export function actionRefusal(
  request: ChangeRequestRecord,
  action: ChangeAction,
  viewer: ChangeViewer,
  now: Date,
): { status: 403 | 409; message: string } | null {
  const status = effectiveStatus(request, now);
  if (status !== 'open')
    return { status: 409, message: `${closedText(request, status)} Nothing can be decided on it now.` };
  const mine = request.requesterPlatformUserId === viewer.platformUserId;
  if (action === 'withdraw') {
    return mine
      ? null
      : { status: 403, message: `Only ${request.requesterLabel}, who filed this change request, may withdraw it.` };
  }
  if (mine) {
    return {
      status: 403,
      message: `You filed this change request; another operator must ${action} it.${action === 'reject' ? ' Withdraw it instead.' : ''}`,
    };
  }
  if (!viewer.canApprove)
    return { status: 403, message: `Deciding on a change request needs the capability ${CAPABILITIES.runsApprove}.` };
  if (request.decisions.some((decision) => decision.platformUserId === viewer.platformUserId)) {
    return {
      status: 409,
      message: `You approved this change request already; one person counts once (it needs ${plural(stillNeeded(request), 'more approval')} from someone else).`,
    };
  }
  return null;
}

/** A closed request's state in one sentence. */
function closedText(request: ChangeRequestRecord, status: ChangeStatus): string {
  const at = (date: Date | null) => (date ? ` at ${utcTime(date)}` : '');
  switch (status) {
    case 'approved':
      return request.runId
        ? `This change request was approved${at(request.decidedAt)} and became run ${request.runId}.`
        : `This change request was approved${at(request.decidedAt)}; its run is being started.`;
    case 'expired':
      return `This change request expired${at(request.expiresAt)} before it had the approvals it needed.`;
    default:
      return `This change request was ${status === 'voided' ? 'voided' : status}${at(request.decidedAt)}.`;
  }
}

/** The page of one change request. */
export function changeDetailView(
  request: ChangeRequestRecord,
  context: {
    now: Date;
    viewer: ChangeViewer;
    report: ReturnType<typeof reportView> | null;
    voidReason: string | null;
    notice: DecisionNotice | null;
  },
) {
  const { now, viewer } = context;
  const status = effectiveStatus(request, now);
  const declared = RUNBOOKS.find((runbook) => runbook.id === request.runbook)?.parameters ?? NO_PARAMETERS;
  const given = approvalsOf(request).length;
  const actions = CHANGE_ACTIONS.filter((action) => !actionRefusal(request, action, viewer, now)).map((action) => ({
    action,
    href: `${changeHref(request.id)}/${action}`,
    label: { approve: 'Approve…', reject: 'Reject…', withdraw: 'Withdraw…' }[action],
    style: { approve: 'primary', reject: 'danger outline', withdraw: 'secondary outline' }[action],
  }));
  // An open request the viewer may not approve says why (theirs, no capability, decided already).
  const why = status === 'open' ? actionRefusal(request, 'approve', viewer, now) : null;
  return {
    id: request.id,
    title: `Change request: ${titleOf(request)}`,
    toast: context.notice ? DECISION_NOTICES[context.notice] : null,
    badge: badge(status),
    state:
      status === 'open'
        ? `Waiting for ${plural(stillNeeded(request), 'more approval')}.`
        : status === 'voided' && context.voidReason
          ? `This change request is void: ${context.voidReason}`
          : closedText(request, status),
    runbookTitle: runbookTitle(request.runbook),
    runbookId: request.runbook,
    scope: describeScope(request.scope),
    parameters: inDeclaredOrder(declared, request.parameters).map(([name, value]) => ({
      name,
      value: parameterText(value),
    })),
    guards: guardsText(request),
    reason: request.reason,
    requester: request.requesterLabel,
    source: request.source,
    approvals: `${given} of ${request.approvalsRequired}`,
    decisions: request.decisions.map((decision) => ({
      by: decision.label,
      decision: decision.decision === 'approve' ? 'Approved' : 'Rejected',
      comment: decision.comment,
      at: instant(decision.createdAt),
    })),
    created: instant(request.createdAt),
    expires: instant(request.expiresAt),
    expiresIn: status === 'open' ? expiresText(request, now) : null,
    decided: request.decidedAt ? instant(request.decidedAt) : null,
    run: request.runId ? { id: request.runId, href: runHref(request.runId) } : null,
    voidReason: status === 'voided' ? (context.voidReason ?? 'the data changed since its preflight') : null,
    preflightId: request.preflightId,
    report: context.report,
    actions,
    why: why?.message ?? null,
  };
}

/** What a decision's form holds as typed: the comment. */
export interface DecisionFields {
  comment: string;
}

const DECISION_TEXT: Record<ChangeAction, { title: string; button: string }> = {
  approve: { title: 'Approve the change request', button: 'Approve' },
  reject: { title: 'Reject the change request', button: 'Reject' },
  withdraw: { title: 'Withdraw the change request', button: 'Withdraw' },
};

/** The confirmation of a decision on a request: what it does, the request in brief, and the comment. */
export function decisionView(
  request: ChangeRequestRecord,
  action: ChangeAction,
  input: { fields: DecisionFields; problem: string | null; csrfToken: string; now: Date },
) {
  const needed = stillNeeded(request);
  const explain: Record<ChangeAction, string> = {
    approve:
      needed <= 1
        ? `Yours is the last approval it needs: the run starts at once, as ${request.requesterLabel} asked for it, once a check finds the data as its preflight counted it (otherwise the request is void and nothing starts).`
        : `Your approval is recorded; it needs ${plural(needed - 1, 'more approval')} from other operators before the run starts.`,
    reject: `Rejecting closes the request: no run is written, and ${request.requesterLabel} is told, with your comment.`,
    withdraw: 'Withdrawing closes the request: no run is written, and nobody can approve it any more.',
  };
  return {
    ...DECISION_TEXT[action],
    action,
    explain: explain[action],
    href: changeHref(request.id),
    postUrl: `${changeHref(request.id)}/${action}`,
    id: request.id,
    summary: {
      request: titleOf(request),
      requester: request.requesterLabel,
      reason: request.reason,
      approvals: `${approvalsOf(request).length} of ${request.approvalsRequired}`,
      expires: instant(request.expiresAt),
      expiresIn: expiresText(request, input.now),
    },
    commentRequired: action !== 'withdraw',
    comment: input.fields.comment,
    commentLength: [...input.fields.comment.trim()].length,
    commentMin: REASON_LENGTH.min,
    commentMax: REASON_LENGTH.max,
    problem: input.problem,
    csrfToken: input.csrfToken,
  };
}
