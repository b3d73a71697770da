import type pg from 'pg';
import type { RunbookDefinition, RunContext } from './definition.js';
import { inDeclaredOrder, parameterText, sameParameters } from './parameters.js';
import { loadPreflight, loadPreflightTenants, type SavedPreflight } from './preflight.js';
import { RunbookRefusal } from './refusal.js';
import { sameScope, type ResolvedScope } from './scope.js';
import type { TenantFingerprint, TenantRef } from './model.js';

export interface PreflightPolicy {
  maxAgeMs: number;
  /** Allowed relative change in rows to change; any change in tenants in scope is drift. */
  toChangeTolerance: number;
}

export const DEFAULT_PREFLIGHT_POLICY: PreflightPolicy = { maxAgeMs: 60 * 60 * 1000, toChangeTolerance: 0.01 };

/** The live numbers of a preflight's scope, as the drift check derives them. */
interface LiveCount {
  /** The tenants in scope are exactly the ones the preflight counted. */
  sameTenants: boolean;
  toChange: number;
}

function sameFingerprint(saved: TenantFingerprint, now: TenantFingerprint | undefined): boolean {
  if (!now) return false;
  const keys = Object.keys(saved);
  return keys.length === Object.keys(now).length && keys.every((key) => saved[key] === now[key]);
}

/**
 * The scope's count to change now, in one read-only snapshot, at the cost of the tenants whose
 * data moved: a tenant whose fingerprint reads as the preflight saved it keeps its saved count,
 * a moved or new tenant is recounted (without the sample), a tenant gone contributes nothing.
 * A preflight saved before tenants were recorded is recounted in full.
 */
async function liveCount(
  client: pg.PoolClient,
  runbook: RunbookDefinition,
  scope: ResolvedScope,
  saved: SavedPreflight,
): Promise<LiveCount> {
  const context: RunContext = { parameters: saved.parameters, asOf: saved.asOf };
  const savedTenants = await loadPreflightTenants(client, saved.id);
  if (savedTenants.length === 0 && saved.report.tenantsInScope > 0) {
    const body = await runbook.preflight(client, scope.tenants, context, { sample: false });
    return {
      sameTenants: scope.tenants.length === saved.report.tenantsInScope,
      toChange: body.perTenant.reduce((n, tenant) => n + tenant.toChange, 0),
    };
  }
  const before = new Map(savedTenants.map((tenant) => [tenant.tenantId, tenant]));
  const inScope = new Set(scope.tenants.map((tenant) => tenant.id));
  const gone = savedTenants.filter((tenant) => !inScope.has(tenant.tenantId));
  const fingerprints = await runbook.fingerprint(client, [...inScope], context);
  const moved: TenantRef[] = scope.tenants.filter((tenant) => {
    const then = before.get(tenant.id);
    return !then || !sameFingerprint(then.fingerprint, fingerprints.get(tenant.id));
  });
  let toChange = saved.report.toChange;
  for (const tenant of gone) toChange -= tenant.toChange;
  for (const tenant of moved) toChange -= before.get(tenant.id)?.toChange ?? 0;
  if (moved.length > 0) {
    const recount = await runbook.preflight(client, moved, context, { sample: false });
    for (const tenant of recount.perTenant) toChange += tenant.toChange;
  }
  return { sameTenants: gone.length === 0 && moved.every((tenant) => before.has(tenant.id)), toChange };
}

const parametersText = (runbook: RunbookDefinition, parameters: Record<string, unknown>) =>
  inDeclaredOrder(runbook.parameters, parameters)
    .map(([name, value]) => `${name} ${parameterText(value)}`)
    .join(', ') || 'none';

/**
 * The preflight a start names, when it is for the same runbook, scope and parameters and recent
 * enough. Whether its numbers still hold is `refuseDrift`'s question, asked under the start's lock.
 */
export async function loadStartPreflight(
  pool: pg.Pool,
  runbook: RunbookDefinition,
  scope: ResolvedScope,
  parameters: Record<string, unknown>,
  preflightId: string | null | undefined,
  options: { now: Date; policy: PreflightPolicy },
): Promise<SavedPreflight> {
  if (!preflightId) {
    throw new RunbookRefusal(
      'preflight_missing',
      'A start must name the preflight it was confirmed against; run a preflight first.',
    );
  }
  const saved = await loadPreflight(pool, preflightId);
  if (!saved) {
    throw new RunbookRefusal('preflight_missing', `Preflight ${preflightId} does not exist; run a new preflight.`);
  }
  if (saved.runbook !== runbook.id || !sameScope(saved.scope, scope.stored)) {
    throw new RunbookRefusal(
      'preflight_mismatch',
      `Preflight ${preflightId} was for ${saved.runbook} on ${saved.report.scope.description}, not this runbook and scope; run a preflight for this scope.`,
    );
  }
  if (!sameParameters(saved.parameters, parameters)) {
    throw new RunbookRefusal(
      'preflight_mismatch',
      `Preflight ${preflightId} was computed for other parameters (${parametersText(runbook, saved.parameters)}), not ${parametersText(runbook, parameters)}; run a preflight with these parameters.`,
    );
  }
  const ageMs = options.now.getTime() - new Date(saved.createdAt).getTime();
  if (ageMs > options.policy.maxAgeMs) {
    throw new RunbookRefusal(
      'preflight_stale',
      `Preflight ${preflightId} is ${Math.floor(ageMs / 60_000)} minutes old (the limit is ${Math.round(options.policy.maxAgeMs / 60_000)}); run a new preflight and review it.`,
    );
  }
  return saved;
}

/**
 * Refuses a start whose preflight no longer holds: its numbers are brought up to date
 * (recounting only the tenants whose data moved) and compared with what the operator confirmed.
 * The starter asks it in the transaction that holds the scope's lock, after the overlap check,
 * so that a run that ended while this start waited for the lock cannot slip past it.
 */
export async function refuseDrift(
  client: pg.PoolClient,
  runbook: RunbookDefinition,
  scope: ResolvedScope,
  saved: SavedPreflight,
  policy: PreflightPolicy,
): Promise<void> {
  const live = await liveCount(client, runbook, scope, saved);
  const allowed = Math.floor(saved.report.toChange * policy.toChangeTolerance);
  if (!live.sameTenants || Math.abs(live.toChange - saved.report.toChange) > allowed) {
    throw new RunbookRefusal(
      'preflight_drift',
      `The data changed since preflight ${saved.id}: it counted ${saved.report.tenantsInScope} tenants and ` +
        `${saved.report.toChange} ${runbook.unit} to change, now there are ${scope.tenants.length} tenants and ` +
        `${live.toChange} (tolerance: ${allowed}). Run a new preflight and review it.`,
    );
  }
}
