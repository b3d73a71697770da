import type pg from 'pg';
import { findPlatformUserById } from '../../auth/platformUsers.js';
import { recordAudit } from '../../audit/recordAudit.js';
import { inTransaction } from '../../db/transaction.js';
import { CAPABILITIES, requireCapability } from '../capabilities.js';
import { auditActor, type Initiator, type RequestContext } from '../initiator.js';
import { storedIdempotencyKey } from '../idempotencyKeys.js';
import { ALL_TENANTS_PHRASE } from '../model.js';
import { RunbookRefusal } from '../refusal.js';
import { findRunByIdempotencyKey, type RunRecord } from '../runs.js';
import { runOf, startRunbook, type StartDeps } from '../start.js';
import { validText } from '../validateStart.js';
import { noticeToRequester } from './changeNotices.js';
import {
  approvalsOf,
  effectiveStatus,
  forgetDecision,
  getChangeRequest,
  recordDecision,
  settleChangeRequest,
  type ChangeRequestRecord,
} from './changeRequests.js';

/** A decision as a surface asks for it: who, on which request, with what comment. */
export interface ChangeDecisionRequest {
  changeRequestId: string;
  by: Initiator;
  comment: string;
  context?: RequestContext;
}

export type ApprovalOutcome =
  /** Recorded; the request waits for more approvals. */
  | { state: 'pending'; changeRequest: ChangeRequestRecord; approvals: number }
  /** The last approval: the run started. `recorded` is false for an approver who found it approved already. */
  | { state: 'started'; changeRequest: ChangeRequestRecord; run: RunRecord; recorded: boolean }
  /** The data drifted past the preflight's tolerance: the request is void, nothing started. */
  | { state: 'voided'; changeRequest: ChangeRequestRecord; reason: string };

const target = (id: string) => ({ targetKind: 'change_request', targetId: id });

function validComment(comment: string): string {
  return validText(comment, {
    name: 'comment',
    code: 'invalid_comment',
    hint: 'Say what you checked, or why not.',
  });
}

const when = (date: Date | null) => (date ? ` at ${date.toISOString()}` : '');

function closed(request: ChangeRequestRecord, status = effectiveStatus(request)): RunbookRefusal {
  const what =
    status === 'expired'
      ? `expired${when(request.expiresAt)}`
      : status === 'approved' && request.runId
        ? `approved and started as run ${request.runId}`
        : `${status}${when(request.decidedAt)}`;
  return new RunbookRefusal(
    'change_closed',
    `Change request ${request.id} is ${what}; nothing can be decided on it now.`,
  );
}

/** An operator who may decide on requests: signed in (the CLI with `--as`), holding `approve`. */
function deciderOf(by: Initiator): Extract<Initiator, { kind: 'platform_user' }> {
  requireCapability(by, CAPABILITIES.runsApprove, 'approve or reject a change request');
  if (by.kind !== 'platform_user') {
    throw new RunbookRefusal(
      'capability',
      'Deciding on a change request needs an operator who signs in (in the CLI: --as <email> --password-stdin).',
    );
  }
  return by;
}

const isRequester = (request: ChangeRequestRecord, by: Initiator) =>
  by.kind === 'platform_user'
    ? request.requesterPlatformUserId === by.id
    : request.requesterPlatformUserId === null && by.kind === 'cli' && request.requesterLabel === by.label;

/** The end of a request after a decision: the requester told, the timer ended (best effort: it expires nothing decided). */
async function afterDecision(
  deps: StartDeps,
  request: ChangeRequestRecord,
  outcome: Parameters<typeof noticeToRequester>[2],
): Promise<void> {
  await noticeToRequester(deps.pool, request, outcome);
  await deps.launcher.changeDecided(request.id).catch(() => undefined);
}

/**
 * Expires an open request (its timer fired, or a decision found it past its deadline); false
 * when it was decided first. Audited once, whoever gets there.
 */
export async function expireChangeRequest(q: pg.Pool, changeRequestId: string): Promise<boolean> {
  const request = await getChangeRequest(q, changeRequestId);
  if (!request || !(await settleChangeRequest(q, request.id, ['open'], 'expired'))) return false;
  await recordAudit(q, {
    actorKind: 'system',
    actorLabel: 'approval timer',
    action: 'change.expired',
    ...target(request.id),
    metadata: { expiresAt: request.expiresAt.toISOString(), approvals: approvalsOf(request).length },
  });
  await noticeToRequester(q, request, { status: 'expired' });
  return true;
}

/**
 * Decides on an open request in one transaction, the request's row locked so that decisions on
 * it queue: refused when it does not exist or is closed. One found past its deadline is expired
 * (after the refused transaction, so that the expiry stands).
 */
async function onOpenRequest<T>(
  pool: pg.Pool,
  id: string,
  decide: (client: pg.PoolClient, request: ChangeRequestRecord) => Promise<T>,
): Promise<T> {
  let lapsed = false;
  try {
    return await inTransaction(pool, async (client) => {
      const request = await getChangeRequest(client, id, { lock: true });
      if (!request) throw new RunbookRefusal('change_not_found', `No change request has the id ${id}.`);
      const status = effectiveStatus(request);
      lapsed = status === 'expired' && request.status === 'open';
      if (status !== 'open') throw closed(request, status);
      return decide(client, request);
    });
  } catch (error) {
    if (lapsed) await expireChangeRequest(pool, id);
    throw error;
  }
}

/** Who filed it, as the starter takes an initiator: an operator with the capabilities they hold now. */
async function requesterOf(pool: pg.Pool, request: ChangeRequestRecord): Promise<Initiator> {
  if (request.requesterPlatformUserId === null) return { kind: 'cli', label: request.requesterLabel };
  const user = await findPlatformUserById(pool, request.requesterPlatformUserId);
  if (!user?.isActive) {
    throw new RunbookRefusal('capability', `${request.requesterLabel}, who filed it, is no longer an active operator.`);
  }
  return { kind: 'platform_user', id: user.id, email: user.email, capabilities: user.capabilities };
}

/**
 * Starts an approved request's run through the one starter, as its requester, with its own
 * idempotency key: whoever carries it out (the last approver, or one who found it approved
 * with no run yet), there is one run. Drift makes it void; any other refusal reopens it.
 */
async function carryOut(
  deps: StartDeps,
  request: ChangeRequestRecord,
  by: { approver: Extract<Initiator, { kind: 'platform_user' }>; recorded: boolean },
): Promise<ApprovalOutcome> {
  const requester = await requesterOf(deps.pool, request).catch(async (error: unknown) => {
    await reopen(deps.pool, request, by);
    throw error;
  });
  const key = `change:${request.id}`;
  try {
    const { run } = runOf(
      await startRunbook(deps, {
        runbook: request.runbook,
        scope:
          'allTenants' in request.scope
            ? { kind: 'all_tenants' }
            : { kind: 'tenants', externalIds: request.scope.tenants.map((tenant) => tenant.externalId) },
        parameters: request.parameters,
        initiator: requester,
        reason: request.reason,
        source: request.source,
        idempotencyKey: key,
        confirmation: request.scopeKind === 'all_tenants' ? ALL_TENANTS_PHRASE : null,
        preflightId: request.preflightId,
        guards: request.start.guards,
        retryOf: request.start.retryOf ?? null,
        sizing: request.start.sizing,
        approval: { changeRequestId: request.id },
      }),
    );
    await settleChangeRequest(deps.pool, request.id, ['approved'], 'approved', run.id);
    const started = { ...request, status: 'approved' as const, runId: run.id };
    if (by.recorded) await afterDecision(deps, started, { status: 'approved', runId: run.id, by: by.approver.email });
    return { state: 'started', changeRequest: started, run, recorded: by.recorded };
  } catch (error) {
    const written = await findRunByIdempotencyKey(deps.pool, storedIdempotencyKey(requester, key));
    if (written) {
      // The run was written and its launch failed: the request is spent on that (failed) run.
      await settleChangeRequest(deps.pool, request.id, ['approved'], 'approved', written.id);
      throw error;
    }
    if (error instanceof RunbookRefusal && error.code === 'preflight_drift') {
      await settleChangeRequest(deps.pool, request.id, ['approved'], 'voided');
      const voided = { ...request, status: 'voided' as const };
      await recordAudit(deps.pool, {
        ...auditActor(by.approver),
        action: 'change.voided',
        ...target(request.id),
        metadata: { reason: error.message, preflightId: request.preflightId },
      });
      await afterDecision(deps, voided, { status: 'voided', message: error.message });
      return { state: 'voided', changeRequest: voided, reason: error.message };
    }
    await reopen(deps.pool, request, by);
    if (error instanceof RunbookRefusal) {
      throw new RunbookRefusal(
        error.code,
        `The run cannot start now: ${error.message} The request is open again${by.recorded ? ' and your approval was not kept' : ''}; approve it once that is resolved.`,
      );
    }
    throw error;
  }
}

/** An approval whose run could not start (the scope is busy, every run is stopped): as if it had not been given. */
async function reopen(
  pool: pg.Pool,
  request: ChangeRequestRecord,
  by: { approver: Extract<Initiator, { kind: 'platform_user' }>; recorded: boolean },
): Promise<void> {
  await inTransaction(pool, async (client) => {
    if (by.recorded) await forgetDecision(client, request.id, by.approver.id);
    await settleChangeRequest(client, request.id, ['approved'], 'open');
  });
}

/**
 * Approves a change request. Its requester can never approve it and one person counts once;
 * the last approval it needs starts its run through the one starter (the drift check runs then).
 * Approvals of one request queue on its row, so that concurrent ones start one run.
 */
export async function approveChange(deps: StartDeps, decision: ChangeDecisionRequest): Promise<ApprovalOutcome> {
  const approver = deciderOf(decision.by);
  const comment = validComment(decision.comment);
  const carried = await inTransaction(deps.pool, async (client) => {
    const request = await getChangeRequest(client, decision.changeRequestId, { lock: true });
    if (request && isRequester(request, approver)) {
      throw new RunbookRefusal(
        'self_approval',
        `You filed change request ${request.id}; someone else must approve it.`,
      );
    }
    // Approved by a last approval whose start has not finished: carry it out (its key makes it one run).
    return request?.status === 'approved' && request.runId === null ? request : null;
  });
  const step = carried
    ? { request: carried, recorded: false, approvals: 0 }
    : await onOpenRequest(deps.pool, decision.changeRequestId, async (client, open) => {
        // Its requester was refused above: a request's requester never changes.
        if (open.decisions.some((given) => given.platformUserId === approver.id)) {
          const more = open.approvalsRequired - approvalsOf(open).length;
          throw new RunbookRefusal(
            'already_decided',
            `You approved change request ${open.id} already; one person counts once (it needs ${more} more from someone else).`,
          );
        }
        await recordDecision(client, open.id, {
          platformUserId: approver.id,
          label: approver.email,
          decision: 'approve',
          comment,
        });
        const approvals = approvalsOf(open).length + 1;
        if (approvals >= open.approvalsRequired) await settleChangeRequest(client, open.id, ['open'], 'approved');
        return { request: open, recorded: true, approvals };
      });
  const { request, recorded, approvals } = step;
  if (recorded) {
    await recordAudit(deps.pool, {
      ...auditActor(approver, decision.context),
      action: 'change.approved',
      ...target(request.id),
      metadata: { comment, approvals, approvalsRequired: request.approvalsRequired },
    });
  }
  const fresh = (await getChangeRequest(deps.pool, request.id))!;
  if (recorded && approvals < request.approvalsRequired) return { state: 'pending', changeRequest: fresh, approvals };
  return carryOut(deps, fresh, { approver, recorded });
}

/** Rejects a change request: it is closed and no run is written. Its requester withdraws it instead. */
export async function rejectChange(deps: StartDeps, decision: ChangeDecisionRequest): Promise<ChangeRequestRecord> {
  const rejecter = deciderOf(decision.by);
  const comment = validComment(decision.comment);
  const request = await onOpenRequest(deps.pool, decision.changeRequestId, async (client, open) => {
    if (isRequester(open, rejecter)) {
      throw new RunbookRefusal('self_approval', `You filed change request ${open.id}; withdraw it instead.`);
    }
    if (open.decisions.some((given) => given.platformUserId === rejecter.id)) {
      throw new RunbookRefusal('already_decided', `You approved change request ${open.id} already.`);
    }
    await recordDecision(client, open.id, {
      platformUserId: rejecter.id,
      label: rejecter.email,
      decision: 'reject',
      comment,
    });
    await settleChangeRequest(client, open.id, ['open'], 'rejected');
    return open;
  });
  await recordAudit(deps.pool, {
    ...auditActor(rejecter, decision.context),
    action: 'change.rejected',
    ...target(request.id),
    metadata: { comment },
  });
  const rejected = (await getChangeRequest(deps.pool, request.id))!;
  await afterDecision(deps, rejected, { status: 'rejected', by: rejecter.email, message: comment });
  return rejected;
}

/** Withdraws an open request: only its requester may. */
export async function withdrawChange(
  deps: StartDeps,
  decision: Omit<ChangeDecisionRequest, 'comment'> & { comment?: string },
): Promise<ChangeRequestRecord> {
  const comment = decision.comment ? validComment(decision.comment) : null;
  const request = await onOpenRequest(deps.pool, decision.changeRequestId, async (client, open) => {
    if (!isRequester(open, decision.by)) {
      throw new RunbookRefusal(
        'not_requester',
        `Only ${open.requesterLabel}, who filed change request ${open.id}, may withdraw it.`,
      );
    }
    await settleChangeRequest(client, open.id, ['open'], 'withdrawn');
    return open;
  });
  await recordAudit(deps.pool, {
    ...auditActor(decision.by, decision.context),
    action: 'change.withdrawn',
    ...target(request.id),
    metadata: comment ? { comment } : {},
  });
  await deps.launcher.changeDecided(request.id).catch(() => undefined);
  return (await getChangeRequest(deps.pool, request.id))!;
}
