import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import { expect } from 'vitest';
import type { RunRecord } from '../../src/runbooks/runs.js';
import { expectedChangesByTenant, loadFindingStates, type FindingState } from './lifecycleOracle.js';
import { expectExactCounts, rowsPerTenant } from './runs.js';

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
  const tenants = await expectExactCounts(pool, run, rowsPerTenant(before.values()), expectedChangesByTenant(before));

  const after = await loadFindingStates(pool, tenants);
  expect(after.size).toBe(before.size);
  expect(mismatches(after, (id) => before.get(id)!.expected.rebuilt)).toEqual([]);
  return after.size;
}
