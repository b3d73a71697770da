import { requireStartAllowed } from './capabilities.js';
import type { RunbookDefinition } from './definition.js';
import type { Initiator, RequestContext } from './initiator.js';
import { RunbookRefusal, type RefusalCode } from './refusal.js';
import { parseParameters } from './parameters.js';
import { getRunbook } from './registry.js';
import type { ScopeInput } from './scope.js';
import { ALL_TENANTS_PHRASE, type GuardsInput, type RunSource } from './model.js';
import { checkSizingRequest, type SizingRequest } from './sizing/runSizing.js';

export const REASON_LENGTH = { min: 10, max: 500 } as const;

/** What the console, the CLI and the deploy hook ask the one starter for. */
export interface StartRequest {
  runbook: string;
  scope: ScopeInput;
  /** The runbook's parameters as the surface gives them (text or JSON); checked against its declaration. */
  parameters?: Record<string, unknown>;
  initiator: Initiator;
  reason: string;
  source: RunSource;
  idempotencyKey?: string | null;
  confirmation?: string | null;
  preflightId?: string | null;
  context?: RequestContext;
  /** Error budget and canary wave, for multi-tenant runs; canary tenants by external id. */
  guards?: GuardsInput;
  /** The run whose failed tenants this start retries. */
  retryOf?: string | null;
  /** Its batch size (auto or rows) and target duration; the deployment's (`RUNBOOK_BATCH_*`) otherwise. */
  sizing?: SizingRequest;
  /**
   * The approved change request this start carries out (the approval's own start): the starter
   * reads its approvers from the request, and checks it is approved and is this start.
   */
  approval?: { changeRequestId: string };
}

export const IDEMPOTENCY_KEY_MAX = 200;

/** Control characters other than newline and tab: they would rewrite an operator's terminal. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/u;

/**
 * Plain text of 10–500 characters, trimmed: a reason as every action takes it, or a decision's
 * comment. `hint` says what to write when it is too short or too long.
 */
export function validText(text: string, what: { name: string; code: RefusalCode; hint: string }): string {
  const trimmed = text.trim();
  // Characters as people count them (code points), not UTF-16 units: an emoji is one.
  const length = [...trimmed].length;
  if (length < REASON_LENGTH.min || length > REASON_LENGTH.max) {
    throw new RunbookRefusal(
      what.code,
      `The ${what.name} must be ${REASON_LENGTH.min} to ${REASON_LENGTH.max} characters; it has ${length}. ${what.hint}`,
    );
  }
  if (CONTROL.test(trimmed)) {
    throw new RunbookRefusal(
      what.code === 'reason_length' ? 'reason_characters' : what.code,
      `The ${what.name} contains control characters (other than newline and tab); write it as plain text.`,
    );
  }
  return trimmed;
}

/** A reason as every action takes it. */
export function validReason(reason: string): string {
  return validText(reason, { name: 'reason', code: 'reason_length', hint: 'Say why this run is needed.' });
}

function validIdempotencyKey(key: string | null | undefined): string | null {
  if (key === undefined || key === null) return null;
  if (key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX || CONTROL.test(key) || /\s/.test(key)) {
    throw new RunbookRefusal(
      'idempotency_key',
      `An idempotency key is 1 to ${IDEMPOTENCY_KEY_MAX} characters with no spaces or control characters; this one has ${key.length}.`,
    );
  }
  return key;
}

/** The checks that need no data: runbook, capabilities, parameters, reason, idempotency key, batch size, typed confirmation. */
export function validateStartRequest(request: StartRequest): {
  runbook: RunbookDefinition;
  reason: string;
  idempotencyKey: string | null;
  parameters: Record<string, unknown>;
} {
  const runbook = getRunbook(request.runbook);
  requireStartAllowed(request.initiator, runbook, request);
  const parameters = parseParameters(runbook.parameters, request.parameters);
  const reason = validReason(request.reason);
  const idempotencyKey = validIdempotencyKey(request.idempotencyKey);
  if (request.sizing) checkSizingRequest(request.sizing, runbook, 'invalid_batch_size');
  if (request.scope.kind === 'all_tenants') {
    if (request.confirmation !== ALL_TENANTS_PHRASE) {
      throw new RunbookRefusal(
        'confirmation',
        `An all-tenants run needs the typed confirmation "${ALL_TENANTS_PHRASE}" exactly.`,
      );
    }
  }
  return { runbook, reason, idempotencyKey, parameters };
}
