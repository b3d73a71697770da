import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { closeIfStale, SEVERITIES } from '../src/catalog/close-stale-findings/rules.js';
import {
  closeStaleBatch,
  countTenantStale,
  summarizeStaleFindings,
  type StaleCriteria,
} from '../src/catalog/close-stale-findings/sql.js';
import { formatInstant, MICROS_PER_DAY, parseInstant } from '../src/catalog/findings-lifecycle/instants.js';
import { HISTORY_PLANS } from '../src/catalog/findings-lifecycle/rebuildSql.js';
import { mapLifecycleInstants, rebuildLifecycle } from '../src/catalog/findings-lifecycle/rules.js';
import { findingHistory, insertFindingHistories } from '../src/catalog/findings-lifecycle/testData.js';
import {
  idRanges,
  REPLAYABLE,
  storedLifecycles,
  usePropertyDatabase,
  withDatabaseEventIds,
} from './support/findingHistories.js';

const RUNS = 8;
const FINDINGS_PER_RUN = 300;

// The run's instant, to the millisecond as a preflight fixes it. Instants fall on whole days
// around it, or a microsecond either side, so findings last seen exactly at the cut-off, and
// events exactly at the instant or after it, are common.
const AS_OF = parseInstant('2026-06-01T12:00:00.123Z');
const instant = fc
  .tuple(fc.integer({ min: -14, max: 2 }), fc.constantFrom(0, 0, 1, -1, MICROS_PER_DAY / 2))
  .map(([days, micros]) => AS_OF + days * MICROS_PER_DAY + micros);

const criteriaArbitrary = fc.record({
  olderThanDays: fc.integer({ min: 7, max: 10 }),
  severities: fc.subarray([...SEVERITIES], { minLength: 1 }),
});

const db = usePropertyDatabase();
let run = 0;

async function newTenant(): Promise<number> {
  run += 1;
  const tenant = await db.client.query(
    `INSERT INTO tenants (workspace_id, external_id, name) VALUES ($1, $2, $2) RETURNING id`,
    [db.workspaceId, `stale-${run}`],
  );
  return Number(tenant.rows[0].id);
}

describe('close stale findings: SQL agrees with the pure rules', () => {
  it(`on ${RUNS} runs of ${FINDINGS_PER_RUN} random findings`, async () => {
    let closedInAll = 0;
    // Findings the rules' boundaries decide: open, last seen exactly at the cut-off; open, stale
    // and acted on after the instant.
    let atCutOff = 0;
    let actedOnSince = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(findingHistory(instant, { maxDetections: 3 }), {
          minLength: FINDINGS_PER_RUN,
          maxLength: FINDINGS_PER_RUN,
        }),
        criteriaArbitrary,
        fc.string({ maxLength: 200 }),
        fc.integer({ min: 37, max: 120 }),
        fc.constantFrom(...HISTORY_PLANS),
        async (findings, { olderThanDays, severities }, note, batchSize, plan) => {
          const tenantId = await newTenant();
          const ids = await insertFindingHistories(db.client, tenantId, findings);
          const histories = await withDatabaseEventIds(db.client, tenantId, findings, ids);
          const criteria: StaleCriteria = { asOf: new Date(AS_OF / 1000), olderThanDays, severities };
          const pure = histories.map((history) => closeIfStale(history, { asOf: AS_OF, olderThanDays, severities }));
          const closing = pure.filter((closed) => closed !== null).length;
          const cutOff = AS_OF - olderThanDays * MICROS_PER_DAY;
          for (const history of histories) {
            const { rebuilt } = rebuildLifecycle(history);
            if (rebuilt.status === 'resolved' || rebuilt.status === 'risk_accepted') continue;
            if (rebuilt.last_seen_at === cutOff) atCutOff += 1;
            if (rebuilt.last_seen_at < cutOff && history.events.some((event) => event.occurred_at > AS_OF))
              actedOnSince += 1;
          }
          const bySeverity = Object.fromEntries(
            SEVERITIES.map((severity) => [
              severity,
              pure.filter((closed, i) => closed !== null && findings[i]!.severity === severity).length,
            ]),
          );

          for (const summaryPlan of HISTORY_PLANS) {
            expect(await summarizeStaleFindings(db.client, [tenantId], criteria, summaryPlan), summaryPlan).toEqual([
              { tenantId, findings: FINDINGS_PER_RUN, closing, bySeverity },
            ]);
            expect(await countTenantStale(db.client, tenantId, criteria, summaryPlan)).toBe(closing);
          }
          const before = await storedLifecycles(db.client, tenantId);
          const runId = crypto.randomUUID();
          let changed = 0;
          for (const range of idRanges(ids, batchSize)) {
            changed += (await closeStaleBatch(db.client, { runId, tenantId, note, ...range }, criteria, plan)).changed;
          }
          expect(changed).toBe(closing);

          const stored = await storedLifecycles(db.client, tenantId);
          for (const [index, closed] of pure.entries()) {
            const id = ids[index]!;
            const want = closed === null ? before.get(id) : mapLifecycleInstants(closed, formatInstant);
            expect(stored.get(id), `finding ${id}: ${JSON.stringify(histories[index])}`).toEqual(want);
          }
          const { rows: resolutions } = await db.client.query(
            `SELECT finding_id, actor, note, occurred_at = $3::timestamptz AS at_instant
               FROM finding_events WHERE tenant_id = $1 AND actor = $2 ORDER BY finding_id`,
            [tenantId, `runbook:${runId}`, criteria.asOf],
          );
          expect(resolutions.map((row) => Number(row.finding_id))).toEqual(
            ids.filter((_, index) => pure[index] !== null).sort((a, b) => a - b),
          );
          for (const row of resolutions)
            expect(row).toMatchObject({ note: note === '' ? null : note, at_instant: true });

          // A later rebuild leaves every closed finding as it is.
          const after = await withDatabaseEventIds(db.client, tenantId, findings, ids);
          for (const [index, closed] of pure.entries()) {
            if (closed === null) continue;
            const current = { ...closed, status: closed.status };
            expect(rebuildLifecycle({ ...after[index]!, current }).changedFields).toEqual([]);
          }
          // Nothing left, by either plan, and a second pass changes nothing.
          for (const countPlan of HISTORY_PLANS)
            expect(await countTenantStale(db.client, tenantId, criteria, countPlan)).toBe(0);
          let again = 0;
          for (const range of idRanges(ids, batchSize)) {
            again += (await closeStaleBatch(db.client, { runId, tenantId, note, ...range }, criteria, plan)).changed;
          }
          expect(again).toBe(0);
          closedInAll += closing;
        },
      ),
      { numRuns: RUNS, ...REPLAYABLE },
    );
    // Guards the generator: closing happens, and so does leaving alone.
    expect(closedInAll).toBeGreaterThan(RUNS * 5);
    expect(closedInAll).toBeLessThan(RUNS * FINDINGS_PER_RUN * 0.8);
    expect(atCutOff).toBeGreaterThan(0);
    expect(actedOnSince).toBeGreaterThan(0);
  });
});
