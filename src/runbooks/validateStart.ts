import { CAPABILITIES, requireCapability } from './capabilities.js';
import type { RunbookDefinition } from './definition.js';
import type { Initiator, RequestContext } from './initiator.js';
import { RunbookRefusal } from './refusal.js';
import { getRunbook } from './registry.js';
import type { RunSource } from './runs.js';
import type { ScopeInput } from './scope.js';

/** The phrase an operator types to confirm an all-tenants run. */
export const ALL_TENANTS_PHRASE = 'ALL TENANTS';
export const REASON_LENGTH = { min: 10, max: 500 } as const;

/** What the console, the CLI and the deploy hook ask the one starter for. */
export interface StartRequest {
  runbook: string;
  scope: ScopeInput;
  initiator: Initiator;
  reason: string;
  source: RunSource;
  idempotencyKey?: string | null;
  confirmation?: string | null;
  preflightId?: string | null;
  context?: RequestContext;
}

function validReason(reason: string): string {
  const trimmed = reason.trim();
  if (trimmed.length < REASON_LENGTH.min || trimmed.length > REASON_LENGTH.max) {
    throw new RunbookRefusal(
      'reason_length',
      `The reason must be ${REASON_LENGTH.min} to ${REASON_LENGTH.max} characters; it has ${trimmed.length}. Say why this run is needed.`,
    );
  }
  return trimmed;
}

/** The checks that need no data: runbook, capabilities, reason, typed confirmation. */
export function validateStartRequest(request: StartRequest): { runbook: RunbookDefinition; reason: string } {
  const runbook = getRunbook(request.runbook);
  requireCapability(request.initiator, CAPABILITIES.runbooksRun, 'start a runbook');
  const reason = validReason(request.reason);
  if (request.scope.kind === 'all_tenants') {
    requireCapability(request.initiator, CAPABILITIES.runbooksRunAllTenants, 'start an all-tenants run');
    if (request.confirmation !== ALL_TENANTS_PHRASE) {
      throw new RunbookRefusal('confirmation', `An all-tenants run needs the typed confirmation "${ALL_TENANTS_PHRASE}" exactly.`);
    }
  }
  return { runbook, reason };
}
