import type pg from 'pg';
import { inTransaction } from '../src/db/transaction.js';
import { DEFAULT_PREFLIGHT_POLICY, loadStartPreflight, refuseDrift } from '../src/runbooks/checkPreflight.js';
import type { SavedPreflight } from '../src/runbooks/preflight.js';
import { getRunbook } from '../src/runbooks/registry.js';
import { resolveScope } from '../src/runbooks/scope.js';
import { rawCountToChange } from './physicalLimit.js';
import { round } from './profile.js';
import { precheckAndPreflight, RUNBOOK } from './startRun.js';

export interface PreflightFigures {
  rawCount: { seconds: number; examined: number; changed: number };
  precheckSeconds: number;
  preflightSeconds: number;
  toChange: number;
  /** preflight / raw count. */
  ratioToRawCount: number;
  /** The start's drift check against this preflight, nothing changed since. */
  driftCheckSeconds: number;
  /** The same with one tenant's data moved (a finding added, then removed again). */
  driftCheckOneTenantMovedSeconds: number;
  /**
   * The preflight's parts, timed apart afterwards, each in a read-only transaction as the
   * preflight runs them: the per-tenant counts (the statement the raw count is the twin of),
   * the fingerprints (which the preflight takes beside the counts, on a second connection in
   * the same snapshot), and the rest: all the preflight takes beyond the counts (scope, sample,
   * saving, audit, and any part of the fingerprints the counts did not hide).
   */
  parts: { counts: number; fingerprints: number; rest: number };
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return round((performance.now() - started) / 1000, 3);
}

/**
 * The start path on a fresh copy before its run: the raw single-query count, the CLI's precheck
 * and all-tenants preflight (which the run then starts against), and the start's drift check.
 * Counts that disagree fail the bench: the preflight must count what the statement would change.
 */
export async function measurePreflight(
  pool: pg.Pool,
  reason: string,
): Promise<{ figures: PreflightFigures; preflight: SavedPreflight }> {
  const rawCount = await rawCountToChange(pool);
  const { preflight, precheckSeconds, preflightSeconds } = await precheckAndPreflight(pool, reason);
  if (preflight.report.toChange !== rawCount.changed || preflight.report.inScope !== rawCount.examined) {
    throw new Error(
      `the preflight counted ${preflight.report.toChange} of ${preflight.report.inScope} findings to change, the raw count ${rawCount.changed} of ${rawCount.examined}`,
    );
  }
  const runbook = getRunbook(RUNBOOK);
  const scope = await resolveScope(pool, { kind: 'all_tenants' });
  // As the starter checks: the preflight, then, in the transaction that would hold the lock, its drift.
  const check = async () => {
    const options = { now: new Date(), policy: DEFAULT_PREFLIGHT_POLICY };
    const saved = await loadStartPreflight(pool, runbook, scope, preflight.parameters, preflight.id, options);
    await inTransaction(pool, (client) => refuseDrift(client, runbook, scope, saved, DEFAULT_PREFLIGHT_POLICY));
  };
  const driftCheckSeconds = await timed(check);
  // The tenant's fingerprint reads as saved again once the finding is gone (same count, max id
  // and latest updated_at), so the run starts against the data the preflight counted.
  const { rows } = await pool.query<{ id: number }>(
    `INSERT INTO findings (tenant_id, fingerprint, title, severity, created_at, updated_at)
     VALUES ($1, 'bench-drift-check', 'Drift check probe', 'high', now(), now()) RETURNING id`,
    [scope.tenants[0]!.id],
  );
  let driftCheckOneTenantMovedSeconds: number;
  try {
    driftCheckOneTenantMovedSeconds = await timed(check);
  } finally {
    await pool.query('DELETE FROM findings WHERE id = $1', [rows[0]!.id]);
  }
  const ids = scope.tenants.map((tenant) => tenant.id);
  const readOnly = (work: (client: pg.PoolClient) => Promise<unknown>) =>
    timed(() => inTransaction(pool, work, { readOnly: true }));
  const context = { parameters: preflight.parameters, asOf: preflight.asOf };
  const counts = await readOnly((client) => runbook.preflight(client, scope.tenants, context, { sample: false }));
  const fingerprints = await readOnly((client) => runbook.fingerprint(client, ids, context));
  return {
    preflight,
    figures: {
      rawCount,
      precheckSeconds,
      preflightSeconds,
      toChange: preflight.report.toChange,
      ratioToRawCount: round(preflightSeconds / rawCount.seconds),
      driftCheckSeconds,
      driftCheckOneTenantMovedSeconds,
      parts: { counts, fingerprints, rest: round(preflightSeconds - counts, 3) },
    },
  };
}
