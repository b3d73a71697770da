import type pg from 'pg';
import { inTransaction } from '../db/transaction.js';
import type { RunbookDefinition } from './definition.js';
import { buildPreflightReport, loadPreflight, type SavedPreflight } from './preflight.js';
import { RunbookRefusal } from './refusal.js';
import type { ResolvedScope } from './scope.js';

export interface PreflightPolicy {
  maxAgeMs: number;
  /** Allowed relative change in rows to change; any change in tenants in scope is drift. */
  toChangeTolerance: number;
}

export const DEFAULT_PREFLIGHT_POLICY: PreflightPolicy = { maxAgeMs: 60 * 60 * 1000, toChangeTolerance: 0.01 };

/**
 * The preflight a start names must be for the same runbook and scope, recent, and still true:
 * its numbers are recomputed and compared with what the operator confirmed.
 */
export async function checkPreflight(
  pool: pg.Pool,
  runbook: RunbookDefinition,
  scope: ResolvedScope,
  preflightId: string | null | undefined,
  options: { now: Date; policy: PreflightPolicy },
): Promise<SavedPreflight> {
  if (!preflightId) {
    throw new RunbookRefusal('preflight_missing', 'A start must name the preflight it was confirmed against; run a preflight first.');
  }
  const saved = await loadPreflight(pool, preflightId);
  if (!saved) {
    throw new RunbookRefusal('preflight_missing', `Preflight ${preflightId} does not exist; run a new preflight.`);
  }
  if (saved.runbook !== runbook.id || JSON.stringify(saved.scope) !== JSON.stringify(scope.stored)) {
    throw new RunbookRefusal(
      'preflight_mismatch',
      `Preflight ${preflightId} was for ${saved.runbook} on ${saved.report.scope.description}, not this runbook and scope; run a preflight for this scope.`,
    );
  }
  const ageMs = options.now.getTime() - new Date(saved.createdAt).getTime();
  if (ageMs > options.policy.maxAgeMs) {
    throw new RunbookRefusal(
      'preflight_stale',
      `Preflight ${preflightId} is ${Math.floor(ageMs / 60_000)} minutes old (the limit is ${Math.round(options.policy.maxAgeMs / 60_000)}); run a new preflight and review it.`,
    );
  }
  const live = await inTransaction(pool, (client) => buildPreflightReport(client, runbook, scope), { readOnly: true });
  const allowed = Math.floor(saved.report.toChange * options.policy.toChangeTolerance);
  const tenantsMoved = live.tenantsInScope !== saved.report.tenantsInScope;
  if (tenantsMoved || Math.abs(live.toChange - saved.report.toChange) > allowed) {
    throw new RunbookRefusal(
      'preflight_drift',
      `The data changed since preflight ${preflightId}: it counted ${saved.report.tenantsInScope} tenants and ` +
        `${saved.report.toChange} ${runbook.unit} to change, now there are ${live.tenantsInScope} tenants and ` +
        `${live.toChange} (tolerance: ${allowed}). Run a new preflight and review it.`,
    );
  }
  return saved;
}
