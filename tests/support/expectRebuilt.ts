import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import { expect } from 'vitest';
import { getRunItems, type RunRecord } from '../../src/runbooks/runs.js';
import { expectedChangesByTenant, loadFindingStates, type FindingState } from './lifecycleOracle.js';

/** Findings of `states` whose stored lifecycle is not `want(state)`: the first few, for a readable failure. */
function mismatches(
  now: Map<number, FindingState>,
  want: (id: number) => FindingState['current'],
  limit = 5,
): Array<{ id: number; current: FindingState['current']; expected: FindingState['current'] }> {
  const wrong = [];
  for (const [id, state] of now) {
    const expected = want(id);
    if (!isDeepStrictEqual(state.current, expected)) wrong.push({ id, current: state.current, expected });
    if (wrong.length >= limit) break;
  }
  return wrong;
}

/**
 * Asserts that a completed run rebuilt every finding of the tenants in `before` exactly as the
 * pure rules say, with exact counts: per item, summed over items, and on the run. Returns the
 * number of findings it compared.
 */
export async function expectEveryTenantRebuilt(
  pool: pg.Pool,
  run: RunRecord,
  before: Map<number, FindingState>,
): Promise<number> {
  const tenants = [...new Set([...before.values()].map((state) => state.tenantId))];
  const expectedByTenant = expectedChangesByTenant(before);
  const expectedTotal = [...expectedByTenant.values()].reduce((a, b) => a + b, 0);
  const findingsByTenant = new Map<number, number>();
  for (const state of before.values())
    findingsByTenant.set(state.tenantId, (findingsByTenant.get(state.tenantId) ?? 0) + 1);

  expect(run).toMatchObject({ status: 'completed', outcome: 'succeeded', error: null });
  expect(run.counts).toMatchObject({
    tenants: tenants.length,
    tenantsSucceeded: tenants.length,
    tenantsFailed: 0,
    changed: expectedTotal,
    examined: before.size,
  });
  const items = await getRunItems(pool, run.id);
  expect(items.map((item) => item.tenantId).sort((a, b) => a - b)).toEqual([...tenants].sort((a, b) => a - b));
  for (const item of items) {
    expect({
      tenant: item.externalId,
      status: item.status,
      changed: item.counts.changed,
      examined: item.counts.examined,
    }).toEqual({
      tenant: item.externalId,
      status: 'succeeded',
      changed: expectedByTenant.get(item.tenantId) ?? 0,
      examined: findingsByTenant.get(item.tenantId),
    });
  }
  expect(items.reduce((sum, item) => sum + item.counts.changed, 0)).toBe(run.counts.changed);

  const after = await loadFindingStates(pool, tenants);
  expect(after.size).toBe(before.size);
  expect(mismatches(after, (id) => before.get(id)!.expected.rebuilt)).toEqual([]);
  return after.size;
}
