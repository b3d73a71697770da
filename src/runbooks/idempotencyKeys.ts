import type { Initiator } from './initiator.js';

/**
 * An idempotency key as stored and looked up: in the namespace of whoever gave it, so that a key
 * never finds or blocks a run somebody else started. A customer cannot claim the deploy hook's
 * `deploy:<release>:<runbook>`, and an operator who reuses a colleague's key starts afresh (the
 * overlap check still stands between the two runs) instead of being handed the colleague's run.
 * The deploy hook's keys are stored as given; every other namespace is "<maker> <key>", and a key
 * has no spaces, so the stored forms of two namespaces never meet.
 */
export function storedIdempotencyKey(initiator: Initiator, key: string): string {
  switch (initiator.kind) {
    case 'deploy_hook':
      return key;
    case 'platform_user':
      return `operator:${initiator.id} ${key}`;
    case 'customer':
      return `tenant:${initiator.tenantExternalId} ${key}`;
    case 'cli':
      return `${initiator.label} ${key}`;
  }
}
