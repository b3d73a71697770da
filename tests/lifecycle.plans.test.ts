import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findingsLifecycleRebuild } from '../src/catalog/findings-lifecycle/definition.js';
import {
  countingPlanFor,
  countTenantToChange,
  HISTORY_PLANS,
  rangePlanFor,
  summarizeFindingsToChange,
} from '../src/catalog/findings-lifecycle/rebuildSql.js';
import { seedDemoData } from '../src/seed/seedDemoData.js';
import { expectedSummaries, loadFindingStates, type FindingState } from './support/lifecycleOracle.js';
import { tenantIds } from './support/runs.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';

let database: TestDatabase;
let customers: number[];
let platform: number;
let states: Map<number, FindingState>;

beforeAll(async () => {
  database = await createTestDatabase();
  // Legacy rows, rows already rebuilt and every kind of history; analyzed, as the plan choice reads the statistics.
  await seedDemoData(database.pool, { tenants: 6, findingsPerTenant: 400, seed: 7 });
  customers = await tenantIds(database.pool);
  platform = (await tenantIds(database.pool, "external_id = 'platform'"))[0]!;
  states = await loadFindingStates(database.pool, [...customers, platform]);
});

afterAll(async () => {
  await database?.destroy();
});

describe('the lifecycle rules in SQL, by either plan', () => {
  it.each(HISTORY_PLANS)('%s: counts as the pure rules do, whatever the scope', async (plan) => {
    const scopes = [customers, [customers[2]!], [customers[4]!, platform, customers[0]!, customers[4]!], []];
    for (const scope of scopes) {
      expect(await summarizeFindingsToChange(database.pool, scope, plan), `tenants ${scope.join(', ')}`).toEqual(
        expectedSummaries(states, scope),
      );
    }
    // Guards the data: there is something to count, and something left alone.
    const all = expectedSummaries(states, customers);
    expect(all.every((tenant) => tenant.changed > 0 && tenant.changed < tenant.findings)).toBe(true);
  });

  it.each(HISTORY_PLANS)('%s: counts one tenant, as the verification does, as the pure rules do', async (plan) => {
    const tenants = [...customers, platform].sort((a, b) => a - b);
    const counted = await Promise.all(tenants.map((tenantId) => countTenantToChange(database.pool, tenantId, plan)));
    expect(counted).toEqual(expectedSummaries(states, tenants).map((tenant) => tenant.changed));
    expect(await countTenantToChange(database.pool, tenants.at(-1)! + 1, plan)).toBe(0);
  });

  it("reads one tenant's history grouped over its id range only where its findings fill half of it", () => {
    expect(rangePlanFor({ ids: 2000, fromId: 1, toId: 2000 })).toBe('grouped');
    expect(rangePlanFor({ ids: 1000, fromId: 1, toId: 2000 })).toBe('grouped');
    expect(rangePlanFor({ ids: 999, fromId: 1, toId: 2000 })).toBe('probes');
    // Tenants whose findings arrived interleaved: one in every 200 ids.
    expect(rangePlanFor({ ids: 2000, fromId: 1, toId: 400_000 })).toBe('probes');
  });

  it('counts most of the findings in one grouped pass and a few tenants by probes', async () => {
    expect(await countingPlanFor(database.pool, customers)).toBe('grouped');
    expect(await countingPlanFor(database.pool, customers.slice(0, 3))).toBe('grouped');
    expect(await countingPlanFor(database.pool, customers.slice(0, 1))).toBe('probes');
    expect(await countingPlanFor(database.pool, [platform])).toBe('probes');
  });

  it('reports the same preflight for all tenants (grouped) as tenant by tenant (probes)', async () => {
    const refs = customers.map((id) => ({ id, externalId: String(id), workspaceId: 0 }));
    const context = { parameters: {}, asOf: new Date() };
    const whole = await findingsLifecycleRebuild.preflight(database.pool, refs, context);
    const oneByOne = await Promise.all(
      refs.map((tenant) => findingsLifecycleRebuild.preflight(database.pool, [tenant], context)),
    );
    expect(whole.perTenant).toEqual(oneByOne.flatMap((body) => body.perTenant));
    const summed: Record<string, number> = {};
    for (const body of oneByOne)
      for (const [field, n] of Object.entries(body.breakdown)) summed[field] = (summed[field] ?? 0) + n;
    expect(whole.breakdown).toEqual(summed);
    expect(whole.perTenant.map((tenant) => tenant.toChange)).toEqual(
      expectedSummaries(states, customers).map((tenant) => tenant.changed),
    );
  });
});
