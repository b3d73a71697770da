import type { AuditEvent } from '../audit/recordAudit.js';

/** Who asks: a signed-in operator, an engineer at the CLI, or a deploy pipeline. */
export type Initiator =
  | { kind: 'platform_user'; id: number; email: string; capabilities: readonly string[] }
  | { kind: 'cli'; label: string }
  | { kind: 'deploy_hook'; label: string };

/** Where a request came from, for the audit trail. */
export interface RequestContext {
  ip?: string | null;
  userAgent?: string | null;
}

export function initiatorLabel(initiator: Initiator): string {
  return initiator.kind === 'platform_user' ? initiator.email : initiator.label;
}

/** Who an audit event names as its actor. */
export type AuditActor = Pick<AuditEvent, 'actorKind' | 'actorId' | 'actorLabel' | 'ip' | 'userAgent'>;

export function auditActor(initiator: Initiator, context: RequestContext = {}): AuditActor {
  return {
    actorKind: initiator.kind,
    actorId: initiator.kind === 'platform_user' ? initiator.id : null,
    actorLabel: initiatorLabel(initiator),
    ip: context.ip ?? null,
    userAgent: context.userAgent ?? null,
  };
}
