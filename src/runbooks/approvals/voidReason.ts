import { and, desc, eq } from 'drizzle-orm';
import { orm, type Connection } from '../../db/orm.js';
import { auditEvents } from '../../db/schema/index.js';

/**
 * Why a change request was voided, as its `change.voided` audit event says (the drift the start
 * found); null when it has none. The request row keeps only its status.
 */
export async function voidReasonOf(q: Connection, changeRequestId: string): Promise<string | null> {
  const [event] = await orm(q)
    .select({ metadata: auditEvents.metadata })
    .from(auditEvents)
    .where(
      and(
        eq(auditEvents.targetKind, 'change_request'),
        eq(auditEvents.targetId, changeRequestId),
        eq(auditEvents.action, 'change.voided'),
      ),
    )
    .orderBy(desc(auditEvents.id))
    .limit(1);
  const reason = event?.metadata.reason;
  return typeof reason === 'string' ? reason : null;
}
