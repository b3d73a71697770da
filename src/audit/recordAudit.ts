import type { Queryable } from '../db/queryable.js';

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

const INSERT = `
INSERT INTO audit_events (actor_kind, actor_id, actor_label, action, target_kind, target_id, ip, user_agent, metadata)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`;

function values(event: AuditEvent): unknown[] {
  return [
    event.actorKind,
    event.actorId == null ? null : String(event.actorId),
    event.actorLabel ?? null,
    event.action,
    event.targetKind ?? null,
    event.targetId ?? null,
    event.ip ?? null,
    event.userAgent ?? null,
    JSON.stringify(event.metadata ?? {}),
  ];
}

function logFailure(event: AuditEvent, error: unknown): void {
  const detail = error instanceof Error ? error.message : String(error);
  process.stderr.write(`audit: could not record ${event.action} (${detail}); continuing\n`);
}

/**
 * Records an audit event, fail-safe: a failing insert is logged and swallowed, never failing
 * the start, run or login it describes. Inside a transaction pass `{ inTransaction: true }`:
 * the insert then runs under a savepoint, so its failure does not abort the caller's work.
 */
export async function recordAudit(q: Queryable, event: AuditEvent, options: { inTransaction?: boolean } = {}): Promise<boolean> {
  try {
    if (!options.inTransaction) {
      await q.query(INSERT, values(event));
      return true;
    }
    await q.query('SAVEPOINT audit_event');
    try {
      await q.query(INSERT, values(event));
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
