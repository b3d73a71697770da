import { describe, expect, it } from 'vitest';
import { inTransaction } from '../src/db/transaction.js';
import {
  DEFAULT_PREFLIGHT_POLICY,
  loadStartPreflight,
  refuseDrift,
  type PreflightPolicy,
} from '../src/runbooks/checkPreflight.js';
import type { RunbookDefinition } from '../src/runbooks/definition.js';
import { buildPreflightReport, loadPreflight, runPreflight, type SavedPreflight } from '../src/runbooks/preflight.js';
import { parseParameters } from '../src/runbooks/parameters.js';
import { getRunbook } from '../src/runbooks/registry.js';
import { resolveScope, sameScope, type ResolvedScope, type ScopeInput } from '../src/runbooks/scope.js';
import { seedDemoData } from '../src/seed/seedDemoData.js';
import { flagTenant } from './support/flagOracle.js';
import { FLAG_PARAMETERS, RUNBOOK, useRunbookHarness } from './support/harness.js';
import type { StoredScope } from '../src/runbooks/model.js';
import { refusalOf } from './support/refusal.js';

const ALL: ScopeInput = { kind: 'all_tenants' };
const tenants = (...externalIds: string[]): ScopeInput => ({ kind: 'tenants', externalIds });
/** No drift allowed at all: any change in the count shows up as a refusal that names it. */
const EXACT: PreflightPolicy = { ...DEFAULT_PREFLIGHT_POLICY, toChangeTolerance: 0 };

describe('sameScope', () => {
  const a = { id: 1, externalId: 'tenant-00001' };
  const b = { id: 2, externalId: 'tenant-00002' };

  it('ignores tenant order and JSON key order', () => {
    const reordered = {
      tenants: [
        { externalId: b.externalId, id: b.id },
        { externalId: a.externalId, id: a.id },
      ],
    };
    expect(sameScope({ tenants: [a, b] }, reordered)).toBe(true);
    expect(JSON.stringify({ tenants: [a, b] })).not.toBe(JSON.stringify(reordered));
    expect(sameScope({ allTenants: true }, JSON.parse('{"allTenants":true}') as StoredScope)).toBe(true);
  });

  it('tells different tenants, and all tenants from a tenant list, apart', () => {
    expect(sameScope({ tenants: [a, b] }, { tenants: [a] })).toBe(false);
    expect(sameScope({ tenants: [a] }, { tenants: [b] })).toBe(false);
    expect(sameScope({ allTenants: true }, { tenants: [a, b] })).toBe(false);
    expect(sameScope({ tenants: [] }, { allTenants: true })).toBe(false);
  });
});

// No worker: nothing here starts a run; the start's preflight checks alone, as the starter makes them.
describe('the drift check recounts only the tenants whose data moved', () => {
  const h = useRunbookHarness({ seed: { tenants: 6, findingsPerTenant: 40, seed: 5 }, worker: false });
  const base = getRunbook(RUNBOOK);
  /** The canonical parameters every preflight here is taken with, and the start would give. */
  const PARAMETERS = parseParameters(base.parameters, FLAG_PARAMETERS);
  const NOW = () => ({ parameters: PARAMETERS, asOf: new Date() });

  /** The runbook, recording which tenants each `preflight` call counted and with which options. */
  function spied() {
    const calls = { preflight: [] as Array<{ tenantIds: number[]; sample: boolean | undefined }>, fingerprint: 0 };
    const runbook: RunbookDefinition = {
      ...base,
      preflight(q, scopeTenants, context, options) {
        calls.preflight.push({ tenantIds: scopeTenants.map((tenant) => tenant.id), sample: options?.sample });
        return base.preflight(q, scopeTenants, context, options);
      },
      fingerprint(q, tenantIds, context) {
        calls.fingerprint += 1;
        return base.fingerprint(q, tenantIds, context);
      },
    };
    return { runbook, calls };
  }

  const preflight = (scope: ScopeInput) =>
    runPreflight(h.database.pool, { runbook: base, scope, parameters: PARAMETERS, initiator: h.operator });
  const resolve = (scope: ScopeInput) => resolveScope(h.database.pool, scope);
  async function check(
    runbook: RunbookDefinition,
    scope: ResolvedScope,
    saved: SavedPreflight | string,
    policy = EXACT,
  ) {
    const id = typeof saved === 'string' ? saved : saved.id;
    const loaded = await loadStartPreflight(h.database.pool, runbook, scope, PARAMETERS, id, {
      now: new Date(),
      policy,
    });
    await inTransaction(h.database.pool, (client) => refuseDrift(client, runbook, scope, loaded, policy));
    return loaded;
  }

  /** The count the old check took: the whole report, recomputed in one snapshot. */
  const fullCount = (scope: ResolvedScope) =>
    inTransaction(
      h.database.pool,
      async (client) => (await buildPreflightReport(client, base, scope, NOW())).toChange,
      {
        readOnly: true,
      },
    );

  async function tenantId(externalId: string): Promise<number> {
    const { rows } = await h.database.pool.query('SELECT id FROM tenants WHERE external_id = $1', [externalId]);
    return rows[0].id;
  }

  /**
   * The nth finding of the tenant that needs no change: of the one severity the runbook does not
   * flag (each case below takes its own: an earlier case may have left its finding needing one).
   */
  async function upToDateFinding(tenant: number, nth: number): Promise<{ id: number }> {
    const { rows } = await h.database.pool.query(
      `SELECT id FROM findings WHERE tenant_id = $1 AND severity = 'info' ORDER BY id OFFSET $2 LIMIT 1`,
      [tenant, nth],
    );
    return rows[0];
  }

  /** The nth finding of the tenant that the run would change (each case takes its own, as above). */
  async function findingToChange(tenant: number, nth: number): Promise<{ id: number }> {
    const { rows } = await h.database.pool.query(
      `SELECT id FROM findings WHERE tenant_id = $1 AND severity <> 'info' AND title NOT LIKE '% [flagged]'
        ORDER BY id OFFSET $2 LIMIT 1`,
      [tenant, nth],
    );
    return rows[0];
  }

  const driftMessage = (saved: SavedPreflight, tenantsNow: number, toChangeNow: number, tolerance: number) =>
    `The data changed since preflight ${saved.id}: it counted ${saved.report.tenantsInScope} tenants and ` +
    `${saved.report.toChange} findings to change, now there are ${tenantsNow} tenants and ${toChangeNow} ` +
    `(tolerance: ${tolerance}). Run a new preflight and review it.`;

  it('saves each tenant of the preflight with its count to change and its fingerprint, in one snapshot', async () => {
    const saved = await preflight(ALL);
    const scope = await resolve(ALL);
    const { rows } = await h.database.pool.query(
      'SELECT tenant_id, to_change, fingerprint FROM preflight_tenants WHERE preflight_id = $1 ORDER BY tenant_id',
      [saved.id],
    );
    expect(rows.map((row) => row.tenant_id)).toEqual(scope.tenants.map((tenant) => tenant.id));
    expect(rows.reduce((n, row) => n + row.to_change, 0)).toBe(saved.report.toChange);
    expect(saved.report.toChange).toBeGreaterThan(0);
    const now = await base.fingerprint(
      h.database.pool,
      scope.tenants.map((tenant) => tenant.id),
      NOW(),
    );
    for (const row of rows) expect(row.fingerprint).toEqual(now.get(row.tenant_id));
  });

  it('passes an unchanged scope without recounting anything', async () => {
    for (const input of [ALL, tenants('tenant-00001', 'tenant-00002')]) {
      const saved = await preflight(input);
      const { runbook, calls } = spied();
      expect((await check(runbook, await resolve(input), saved)).id).toBe(saved.id);
      expect(calls).toEqual({ preflight: [], fingerprint: 1 });
    }
  });

  it('takes the same scope with other JSON key and tenant order for the same scope', async () => {
    const input = tenants('tenant-00002', 'tenant-00001');
    const saved = await preflight(input);
    const scope = await resolve(input);
    if ('allTenants' in scope.stored) throw new Error('expected a tenant list');
    const reordered: StoredScope = {
      tenants: [...scope.stored.tenants].reverse().map(({ id, externalId }) => ({ externalId, id })),
    };
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(saved.scope));
    expect((await check(base, { ...scope, stored: reordered }, saved)).id).toBe(saved.id);

    const other = await resolve(tenants('tenant-00002'));
    const error = await refusalOf(check(base, other, saved));
    expect(error.code).toBe('preflight_mismatch');
  });

  // Each changes one tenant's findings so that exactly one more (or one fewer) of them needs a
  // change, the way the product writes them (updated_at stamped on an update).
  const changes: Array<{ what: string; delta: number; apply: (tenant: number) => Promise<void> }> = [
    {
      what: 'a finding updated so that it needs a change',
      delta: 1,
      apply: async (tenant) => {
        const finding = await upToDateFinding(tenant, 0);
        await h.database.pool.query(`UPDATE findings SET severity = 'high', updated_at = now() WHERE id = $1`, [
          finding.id,
        ]);
      },
    },
    {
      what: 'a new finding (an old one, imported)',
      delta: 1,
      apply: async (tenant) => {
        await h.database.pool.query(
          `INSERT INTO findings (tenant_id, fingerprint, title, severity, created_at, updated_at)
           VALUES ($1, 'drift-check-' || gen_random_uuid(), 'New finding', 'high', now() - interval '30 days', now())`,
          [tenant],
        );
      },
    },
    {
      what: 'a deleted finding (not the newest)',
      delta: -1,
      apply: async (tenant) => {
        const { id } = await findingToChange(tenant, 0);
        await h.database.pool.query('DELETE FROM finding_detections WHERE finding_id = $1', [id]);
        await h.database.pool.query('DELETE FROM finding_events WHERE finding_id = $1', [id]);
        await h.database.pool.query('DELETE FROM findings WHERE id = $1', [id]);
      },
    },
    {
      what: 'a finding updated so that it needs no change',
      delta: -1,
      apply: async (tenant) => {
        const { id } = await findingToChange(tenant, 1);
        await h.database.pool.query(`UPDATE findings SET severity = 'info', updated_at = now() WHERE id = $1`, [id]);
      },
    },
    {
      what: 'a finding marked by someone else',
      delta: -1,
      apply: async (tenant) => {
        const { id } = await findingToChange(tenant, 2);
        await h.database.pool.query(
          `UPDATE findings SET title = title || ' [flagged]', updated_at = now() WHERE id = $1`,
          [id],
        );
      },
    },
  ];

  it.each(changes)('$what moves only that tenant and the live total is its recount', async ({ apply, delta }) => {
    const saved = await preflight(ALL);
    const scope = await resolve(ALL);
    const ids = scope.tenants.map((tenant) => tenant.id);
    const changed = await tenantId('tenant-00003');
    const before = await base.fingerprint(h.database.pool, ids, NOW());
    await apply(changed);

    const after = await base.fingerprint(h.database.pool, ids, NOW());
    const moved = ids.filter((id) => JSON.stringify(before.get(id)) !== JSON.stringify(after.get(id)));
    expect(moved).toEqual([changed]);

    const live = await fullCount(scope);
    expect(live).toBe(saved.report.toChange + delta);
    const { runbook, calls } = spied();
    const error = await refusalOf(check(runbook, scope, saved));
    expect(error.code).toBe('preflight_drift');
    expect(error.message).toBe(driftMessage(saved, ids.length, live, 0));
    expect(calls.preflight).toEqual([{ tenantIds: [changed], sample: false }]);
  });

  it('passes drift within the tolerance and refuses drift beyond it, with the same message', async () => {
    const saved = await preflight(ALL);
    const scope = await resolve(ALL);
    const allowed = Math.floor(saved.report.toChange * DEFAULT_PREFLIGHT_POLICY.toChangeTolerance);
    expect(allowed).toBeGreaterThanOrEqual(1);
    const first = await tenantId('tenant-00004');
    await changes[1]!.apply(first);
    const within = spied();
    expect((await check(within.runbook, scope, saved, DEFAULT_PREFLIGHT_POLICY)).id).toBe(saved.id);
    expect(within.calls.preflight).toEqual([{ tenantIds: [first], sample: false }]);

    // Someone flagged another tenant meanwhile: everything the preflight counted there is done.
    const second = await tenantId('tenant-00005');
    expect(await flagTenant(h.database.pool, second, saved)).toBeGreaterThan(0);
    const live = await fullCount(scope);
    expect(saved.report.toChange - live).toBeGreaterThan(allowed);
    const beyond = spied();
    const error = await refusalOf(check(beyond.runbook, scope, saved, DEFAULT_PREFLIGHT_POLICY));
    expect(error.code).toBe('preflight_drift');
    expect(error.message).toBe(driftMessage(saved, scope.tenants.length, live, allowed));
    expect(beyond.calls.preflight).toEqual([{ tenantIds: [first, second], sample: false }]);
  });

  it('recounts every tenant of a preflight saved before tenants were recorded', async () => {
    const saved = await preflight(ALL);
    await h.database.pool.query('DELETE FROM preflight_tenants WHERE preflight_id = $1', [saved.id]);
    const scope = await resolve(ALL);
    const { runbook, calls } = spied();
    expect((await check(runbook, scope, saved)).id).toBe(saved.id);
    expect(calls.preflight).toEqual([{ tenantIds: scope.tenants.map((tenant) => tenant.id), sample: false }]);
  });

  it('refuses an id that cannot be a preflight id as missing', async () => {
    expect(await loadPreflight(h.database.pool, '-'.repeat(36))).toBeNull();
    expect(await loadPreflight(h.database.pool, 'not-a-uuid')).toBeNull();
    const error = await refusalOf(check(base, await resolve(ALL), '-'.repeat(36)));
    expect(error.code).toBe('preflight_missing');
  });

  it('treats a tenant added to, removed from or swapped in all tenants as drift', async () => {
    const before = await preflight(ALL);
    const added = await seedDemoData(h.database.pool, { tenants: 1, findingsPerTenant: 0, seed: 5 });
    const newcomer = await tenantId(added.externalIds!.first);
    let scope = await resolve(ALL);
    const { runbook, calls } = spied();
    const error = await refusalOf(check(runbook, scope, before));
    expect(error.code).toBe('preflight_drift');
    expect(error.message).toBe(driftMessage(before, before.report.tenantsInScope + 1, before.report.toChange, 0));
    expect(calls.preflight).toEqual([{ tenantIds: [newcomer], sample: false }]);

    const withNewcomer = await preflight(ALL);
    await h.database.pool.query('DELETE FROM tenants WHERE id = $1', [newcomer]);
    scope = await resolve(ALL);
    const removed = await refusalOf(check(base, scope, withNewcomer));
    expect(removed.message).toBe(
      driftMessage(withNewcomer, withNewcomer.report.tenantsInScope - 1, withNewcomer.report.toChange, 0),
    );

    // As many tenants as before, but not the same ones: still drift.
    await h.database.pool.query(
      `INSERT INTO tenants (workspace_id, external_id, name) SELECT workspace_id, 'drift-swap', 'Swap' FROM tenants WHERE external_id = 'tenant-00001'`,
    );
    scope = await resolve(ALL);
    expect(scope.tenants).toHaveLength(withNewcomer.report.tenantsInScope);
    const swapped = await refusalOf(check(base, scope, withNewcomer));
    expect(swapped.message).toBe(
      driftMessage(withNewcomer, withNewcomer.report.tenantsInScope, withNewcomer.report.toChange, 0),
    );
  });
});
