import type { AuditEvent } from '../audit/recordAudit.js';

/**
 * Who asks: a signed-in operator, a signed-in customer user of `/admin` (the legacy maintenance
 * trigger, for their own tenant only), an engineer at the CLI, or a deploy pipeline.
 */
export type Initiator =
  | { kind: 'platform_user'; id: number; email: string; capabilities: readonly string[] }
  | { kind: 'customer'; id: number; email: string; tenantExternalId: string }
  | { kind: 'cli'; label: string }
  | { kind: 'deploy_hook'; label: string };

/** Where a request came from, for the audit trail. */
export interface RequestContext {
  ip?: string | null;
  userAgent?: string | null;
}

export function initiatorLabel(initiator: Initiator): string {
  return initiator.kind === 'platform_user' || initiator.kind === 'customer' ? initiator.email : initiator.label;
}

/** Who an audit event names as its actor. */
export type AuditActor = Pick<AuditEvent, 'actorKind' | 'actorId' | 'actorLabel' | 'ip' | 'userAgent'>;

export function auditActor(initiator: Initiator, context: RequestContext = {}): AuditActor {
  return {
    // The audit trail calls a customer user a `user`, after their table.
    actorKind: initiator.kind === 'customer' ? 'user' : initiator.kind,
    actorId: initiator.kind === 'platform_user' || initiator.kind === 'customer' ? initiator.id : null,
    actorLabel: initiatorLabel(initiator),
    ip: context.ip ?? null,
    userAgent: context.userAgent ?? null,
  };
}
