import { orm, type Connection } from '../db/orm.js';
import { auditEvents } from '../db/schema/index.js';
import { firstLine } from '../errors.js';

export interface AuditEvent {
  actorKind: 'platform_user' | 'user' | 'cli' | 'deploy_hook' | 'system' | 'anonymous';
  actorId?: string | number | null;
  actorLabel?: string | null;
  action: string;
  targetKind?: string | null;
  targetId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  metadata?: Record<string, unknown>;
}

function row(event: AuditEvent): typeof auditEvents.$inferInsert {
  return {
    actorKind: event.actorKind,
    actorId: event.actorId == null ? null : String(event.actorId),
    actorLabel: event.actorLabel ?? null,
    action: event.action,
    targetKind: event.targetKind ?? null,
    targetId: event.targetId ?? null,
    ip: event.ip ?? null,
    userAgent: event.userAgent ?? null,
    metadata: event.metadata ?? {},
  };
}

function logFailure(event: AuditEvent, error: unknown): void {
  process.stderr.write(`audit: could not record ${event.action} (${firstLine(error)}); continuing\n`);
}

/**
 * Records an audit event, fail-safe: a failing insert is logged and swallowed, never failing
 * the start, run or login it describes. Inside a transaction pass `{ inTransaction: true }`:
 * the insert then runs under a savepoint, so its failure does not abort the caller's work.
 */
export async function recordAudit(
  q: Connection,
  event: AuditEvent,
  options: { inTransaction?: boolean } = {},
): Promise<boolean> {
  try {
    const insert = () => orm(q).insert(auditEvents).values(row(event));
    if (!options.inTransaction) {
      await insert();
      return true;
    }
    await q.query('SAVEPOINT audit_event');
    try {
      await insert();
      await q.query('RELEASE SAVEPOINT audit_event');
      return true;
    } catch (error) {
      await q.query('ROLLBACK TO SAVEPOINT audit_event');
      throw error;
    }
  } catch (error) {
    logFailure(event, error);
    return false;
  }
}
