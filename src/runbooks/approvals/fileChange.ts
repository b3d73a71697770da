import type pg from 'pg';
import { recordAudit } from '../../audit/recordAudit.js';
import { inTransaction } from '../../db/transaction.js';
import { errorWithCause, UnavailableError } from '../../errors.js';
import { auditActor, initiatorLabel, type Initiator, type RequestContext } from '../initiator.js';
import type { RunLauncher } from '../launcher.js';
import type { FiledStart, RunGuards, RunSource } from '../model.js';
import type { ResolvedScope } from '../scope.js';
import { refuseOtherStart } from '../idempotencyKeys.js';
import { noticeToApprovers } from './changeNotices.js';
import { findChangeRequestByKey, insertChangeRequest, type ChangeRequestRecord } from './changeRequests.js';

/** A start the policy holds for approval, checked and bound to its preflight. */
export interface Filing {
  runbook: string;
  scope: ResolvedScope;
  parameters: Record<string, unknown>;
  preflightId: string;
  reason: string;
  guards: RunGuards;
  initiator: Initiator;
  context?: RequestContext;
  source: RunSource;
  /** In its maker's namespace (`storedIdempotencyKey`). */
  key: string | null;
  start: FiledStart;
  approvalsRequired: number;
  ttlMs: number;
}

export interface FiledResult {
  changeRequest: ChangeRequestRecord;
  /** False when the idempotency key returned a request filed before. */
  created: boolean;
}

function replayOf(existing: ChangeRequestRecord, filing: Filing): FiledResult {
  refuseOtherStart(existing, { ...filing, scope: filing.scope.stored }, `change request ${existing.id}`);
  return { changeRequest: existing, created: false };
}

/**
 * Files a change request instead of queueing a run: the request and its expiry timer together
 * (no request is left that nothing would expire), then its audit event and the approvers' notices.
 * A reused idempotency key returns the request it filed before.
 */
export async function fileChangeRequest(
  deps: { pool: pg.Pool; launcher: RunLauncher; now?: () => Date },
  filing: Filing,
): Promise<FiledResult> {
  const { key } = filing;
  const result = await inTransaction(deps.pool, async (client): Promise<FiledResult> => {
    if (key) {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`operation_runs.idempotency_key:${key}`]);
      const existing = await findChangeRequestByKey(client, key);
      if (existing) return replayOf(existing, filing);
    }
    const now = deps.now?.() ?? new Date();
    const changeRequest = await insertChangeRequest(client, {
      runbook: filing.runbook,
      scopeKind: filing.scope.kind,
      scope: filing.scope.stored,
      parameters: filing.parameters,
      preflightId: filing.preflightId,
      reason: filing.reason,
      guards: filing.guards,
      requesterPlatformUserId: filing.initiator.kind === 'platform_user' ? filing.initiator.id : null,
      requesterLabel: initiatorLabel(filing.initiator),
      approvalsRequired: filing.approvalsRequired,
      expiresAt: new Date(now.getTime() + filing.ttlMs),
      source: filing.source,
      idempotencyKey: key,
      start: filing.start,
    });
    try {
      await deps.launcher.expireChangeAt(changeRequest.id, changeRequest.expiresAt);
    } catch (error) {
      throw new UnavailableError(
        `${deps.launcher.name} did not take the change request's expiry timer (${errorWithCause(error)}); nothing was filed. Check the server and start again.`,
      );
    }
    return { changeRequest, created: true };
  });
  if (!result.created) return result;
  const { changeRequest } = result;
  await recordAudit(deps.pool, {
    ...auditActor(filing.initiator, filing.context),
    action: 'change.requested',
    targetKind: 'change_request',
    targetId: changeRequest.id,
    metadata: {
      runbook: changeRequest.runbook,
      scope: changeRequest.scope,
      parameters: changeRequest.parameters,
      preflightId: changeRequest.preflightId,
      reason: changeRequest.reason,
      source: changeRequest.source,
      approvalsRequired: changeRequest.approvalsRequired,
      expiresAt: changeRequest.expiresAt.toISOString(),
    },
  });
  await noticeToApprovers(deps.pool, changeRequest);
  return result;
}
