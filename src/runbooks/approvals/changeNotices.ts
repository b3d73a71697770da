import { orm, type Connection } from '../../db/orm.js';
import { notifications } from '../../db/schema/index.js';
import { CAPABILITIES } from '../capabilities.js';
import type { ChangeRequestRow } from './changeRequests.js';

/** Notice types of change requests, beside the runs' (`OperationRunCompleted`, …). */
export const CHANGE_NOTICES = { requested: 'ChangeRequested', decided: 'ChangeDecided' } as const;

/** Every active operator who may approve it (never its requester) hears of a new request. */
export async function noticeToApprovers(q: Connection, request: ChangeRequestRow): Promise<void> {
  await q.query(
    `INSERT INTO notifications (platform_user_id, type, data)
     SELECT id, $1, $2::jsonb FROM platform_users
      WHERE is_active AND $3 = ANY (capabilities) AND id IS DISTINCT FROM $4::bigint`,
    [
      CHANGE_NOTICES.requested,
      JSON.stringify({ changeRequestId: request.id, runbook: request.runbook, requester: request.requesterLabel }),
      CAPABILITIES.runsApprove,
      request.requesterPlatformUserId,
    ],
  );
}

/** The requester hears how it ended (an operator's; a CLI requester reads it with `changes show`). */
export async function noticeToRequester(
  q: Connection,
  request: ChangeRequestRow,
  outcome: { status: ChangeRequestRow['status']; runId?: string | null; by?: string; message?: string },
): Promise<void> {
  if (request.requesterPlatformUserId === null) return;
  await orm(q)
    .insert(notifications)
    .values({
      platformUserId: request.requesterPlatformUserId,
      type: CHANGE_NOTICES.decided,
      data: { changeRequestId: request.id, runbook: request.runbook, ...outcome },
    });
}
