// A run that sizes its batches itself, end to end on a real worker: on findings where every
// changed row costs 0.125 ms (so 2,000 rows take about 0.25 s), its batches grow towards the
// target and settle there; a batch that runs into its statement timeout is split, not failed.
import type pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { BatchSizing } from '../src/runbooks/sizing/batchSizer.js';
import { getRun, getRunItems } from '../src/runbooks/runs.js';
import { runCli } from './support/cli.js';
import { expectEveryTenantFlagged, loadFindings, unflagFindings } from './support/flagOracle.js';
import { useRunbookHarness } from './support/harness.js';
import { tenantIds, waitForRun } from './support/runs.js';

/**
 * Every update statement on findings sleeps `sql` seconds, given `rows`, the rows it changed: a
 * cost per row the controller must learn (the sleep is the dataset's speed, not a wait in the test).
 * Returns the undo.
 */
async function rowCost(pool: pg.Pool, sql: string): Promise<() => Promise<void>> {
  await pool.query(`
    CREATE OR REPLACE FUNCTION test_row_cost() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE rows bigint; BEGIN SELECT count(*) INTO rows FROM changed; PERFORM pg_sleep(${sql}); RETURN NULL; END $$;
    CREATE TRIGGER test_row_cost AFTER UPDATE ON findings REFERENCING NEW TABLE AS changed
      FOR EACH STATEMENT EXECUTE FUNCTION test_row_cost();`);
  return () => pool.query('DROP TRIGGER test_row_cost ON findings; DROP FUNCTION test_row_cost()').then(() => {});
}

describe('a batch size that tunes itself', () => {
  const h = useRunbookHarness({
    seed: { tenants: 2, findingsPerTenant: 24_000, seed: 53 },
    settings: { batchSize: 2_000 },
  });
  let undo: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await undo?.();
    undo = undefined;
  });

  const onlyItem = async (runId: string) => {
    const [item] = await getRunItems(h.database.pool, runId);
    return { ...item!, sizing: item!.counts.sizing as BatchSizing };
  };

  it('grows from 2,000 rows towards a 500 ms batch, at most 1.2x a step, settles, and counts exactly', async () => {
    await unflagFindings(h.database.pool);
    const [tenant] = await tenantIds(h.database.pool);
    const before = await loadFindings(h.database.pool, [tenant!]);
    undo = await rowCost(h.database.pool, 'rows * 0.000125');
    const { run } = await h.start(
      { kind: 'tenants', externalIds: ['tenant-00001'] },
      { sizing: { batchSize: { auto: true }, batchTargetMs: 500 } },
    );
    expect(run.settings).toMatchObject({ batchSize: 2_000, batchTargetMs: 500 });
    const done = await waitForRun(h.database.pool, run.id);
    await expectEveryTenantFlagged(h.database.pool, done, before);

    const { sizing } = await onlyItem(run.id);
    // It grew (2,000 → 2,400 → 2,880 → …), never by more than a fifth at a time, and never shrank.
    expect(sizing.changes.grow).toBeGreaterThanOrEqual(2);
    expect(sizing.changes).toMatchObject({ shrink: 0, split: 0 });
    for (const change of sizing.recent) expect(change.to / change.from).toBeLessThanOrEqual(1.2);
    // A row costs at least 0.125 ms of every changed row's 0.85 or so: 500 ms holds at most ~4,700 of them.
    expect(sizing.size).toBeGreaterThanOrEqual(2_880);
    expect(sizing.size).toBeLessThanOrEqual(4_800);
    // Settled: within a tenth (and a little) of where its average aims.
    expect(Math.abs(500 / sizing.msPerRow! - sizing.size)).toBeLessThanOrEqual(0.15 * sizing.size);
    // Where it stands is the run's, shown by runs show (and the run page, from the same counts).
    expect((await getRun(h.database.pool, run.id))!.counts.batchSize).toBe(sizing.size);
    const shown = await runCli(['runs', 'show', run.id], { DATABASE_URL: h.database.url }, { testRunbook: true });
    expect(shown.stdout).toContain(`batches sized to take 500 ms (now ${sizing.size.toLocaleString('en-US')} rows)`);
  });

  it('splits a batch that runs into its statement timeout (5 s), and the tenant succeeds', async () => {
    await unflagFindings(h.database.pool);
    const [, tenant] = await tenantIds(h.database.pool);
    const before = await loadFindings(h.database.pool, [tenant!]);
    // A batch changing more than 1,500 rows would take 6 s: over the timeout of a 100 ms target.
    undo = await rowCost(h.database.pool, 'CASE WHEN rows > 1500 THEN 6 ELSE rows * 0.0001 END');
    const { run } = await h.start(
      { kind: 'tenants', externalIds: ['tenant-00002'] },
      { sizing: { batchSize: { auto: true }, batchTargetMs: 100 } },
    );
    const done = await waitForRun(h.database.pool, run.id);
    await expectEveryTenantFlagged(h.database.pool, done, before);
    const { sizing, error } = await onlyItem(run.id);
    expect(error).toBeNull();
    expect(sizing.changes.split).toBeGreaterThanOrEqual(1);
    expect(sizing.size).toBeLessThanOrEqual(1_500 / 0.85);
  });
});
