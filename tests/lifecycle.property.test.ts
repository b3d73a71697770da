import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatInstant } from '../src/catalog/findings-lifecycle/instants.js';
import {
  countTenantToChange,
  HISTORY_PLANS,
  rebuildFindingsBatch,
  summarizeFindingsToChange,
  type FieldCounts,
  type HistoryPlan,
} from '../src/catalog/findings-lifecycle/rebuildSql.js';
import {
  LIFECYCLE_FIELDS,
  mapLifecycleInstants,
  rebuildLifecycle,
  type FindingHistory,
} from '../src/catalog/findings-lifecycle/rules.js';
import { findingHistory, insertFindingHistories } from '../src/catalog/findings-lifecycle/testData.js';
import {
  idRanges,
  REPLAYABLE,
  storedLifecycles,
  usePropertyDatabase,
  withDatabaseEventIds,
} from './support/findingHistories.js';

const RUNS = 8;
const FINDINGS_PER_RUN = 500;
const STATUSES = ['new', 'triaged', 'resolved', 'reopened', 'risk_accepted'];

const db = usePropertyDatabase();
let run = 0;

async function insertRun(findings: FindingHistory[]): Promise<{ tenantId: number; ids: number[] }> {
  run += 1;
  const tenant = await db.client.query(
    `INSERT INTO tenants (workspace_id, external_id, name) VALUES ($1, $2, $2) RETURNING id`,
    [db.workspaceId, `property-${run}`],
  );
  const tenantId = Number(tenant.rows[0].id);
  return { tenantId, ids: await insertFindingHistories(db.client, tenantId, findings) };
}

async function rebuildInBatches(tenantId: number, ids: number[], size: number, plan: HistoryPlan) {
  const total = {
    examined: 0,
    changed: 0,
    fields: Object.fromEntries(LIFECYCLE_FIELDS.map((f) => [f, 0])) as FieldCounts,
  };
  for (const range of idRanges(ids, size)) {
    const result = await rebuildFindingsBatch(db.client, { tenantId, ...range }, plan);
    total.examined += result.examined;
    total.changed += result.changed;
    for (const field of LIFECYCLE_FIELDS) total.fields[field] += result.fields[field];
  }
  return total;
}

describe('findings lifecycle: SQL rebuild agrees with the pure rules', () => {
  it(`on ${RUNS} runs of ${FINDINGS_PER_RUN} random findings`, async () => {
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(findingHistory(), { minLength: FINDINGS_PER_RUN, maxLength: FINDINGS_PER_RUN }),
        fc.integer({ min: 37, max: 200 }),
        fc.constantFrom(...HISTORY_PLANS),
        async (findings, batchSize, batchPlan) => {
          const { tenantId, ids } = await insertRun(findings);
          const pure = (await withDatabaseEventIds(db.client, tenantId, findings, ids)).map(rebuildLifecycle);
          const expectedFields = Object.fromEntries(
            LIFECYCLE_FIELDS.map((field) => [field, pure.filter((p) => p.changedFields.includes(field)).length]),
          );
          const expected = { changed: pure.filter((p) => p.changedFields.length > 0).length, fields: expectedFields };

          // Both plans; the grouped one also reads the earlier runs' tenants, which must not count.
          const summaries = [];
          for (const plan of HISTORY_PLANS)
            summaries.push({ plan, summary: await summarizeFindingsToChange(db.client, [tenantId], plan) });
          // The verification's count of one tenant, by either plan: all that will change, then nothing.
          const counted = async () =>
            Promise.all(HISTORY_PLANS.map((plan) => countTenantToChange(db.client, tenantId, plan)));
          const before = await counted();
          const rebuilt = await rebuildInBatches(tenantId, ids, batchSize, batchPlan);

          const stored = await storedLifecycles(db.client, tenantId);
          for (const [index, history] of findings.entries()) {
            const want = mapLifecycleInstants(pure[index]!.rebuilt, formatInstant);
            // The history in the message makes a failure reproducible by hand.
            expect(stored.get(ids[index]!), `finding ${ids[index]}: ${JSON.stringify(history)}`).toEqual(want);
          }
          for (const { plan, summary } of summaries) {
            expect(summary, plan).toEqual([{ tenantId, findings: FINDINGS_PER_RUN, ...expected }]);
          }
          expect(rebuilt, batchPlan).toEqual({ examined: FINDINGS_PER_RUN, ...expected });
          expect(before).toEqual(HISTORY_PLANS.map(() => expected.changed));
          expect(await counted()).toEqual(HISTORY_PLANS.map(() => 0));
          // Guards the generator: every status arises, and some rows are left alone.
          expect(new Set(pure.map((p) => p.rebuilt.status))).toEqual(new Set(STATUSES));
          expect(expected.changed).toBeLessThan(FINDINGS_PER_RUN);

          const again = await rebuildInBatches(tenantId, ids, batchSize, batchPlan);
          expect(again.changed).toBe(0);
          checked += findings.length;
        },
      ),
      { numRuns: RUNS, ...REPLAYABLE },
    );
    expect(checked).toBe(RUNS * FINDINGS_PER_RUN);
  });
});
