import type { Initiator } from './initiator.js';
import type { StoredScope } from './model.js';
import { sameParameters } from './parameters.js';
import { RunbookRefusal } from './refusal.js';
import { sameScope } from './scope.js';

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

/** What a reused idempotency key must ask for again: the same runbook, scope, parameters and reason. */
interface KeyedStart {
  runbook: string;
  scope: StoredScope;
  parameters: Record<string, unknown>;
  reason: string;
}

/**
 * Refuses a reused key that asks for another start than the one it was first used for (a run, or
 * the change request filed for it): a different start needs a new key.
 */
export function refuseOtherStart(recorded: KeyedStart, asked: KeyedStart, usedFor: string, key?: string | null): void {
  if (
    recorded.runbook !== asked.runbook ||
    !sameScope(recorded.scope, asked.scope) ||
    !sameParameters(recorded.parameters, asked.parameters) ||
    recorded.reason !== asked.reason
  ) {
    throw new RunbookRefusal(
      'idempotency_conflict',
      `Idempotency key${key ? ` "${key}"` : ''} was already used for ${usedFor} with other parameters; use a new key for a different start.`,
    );
  }
}
