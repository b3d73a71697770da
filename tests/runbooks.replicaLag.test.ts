// The replica lag gate against a real streaming replica: an owned primary and its replica (a base
// backup of it), whose replay the test pauses and resumes.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phaseOf } from '../src/runbooks/runPhase.js';
import { getRun } from '../src/runbooks/runs.js';
import { expectEveryTenantFlagged, loadFindings } from './support/flagOracle.js';
import { startOwnedPostgres, type OwnedPostgres } from './support/ownedPostgres.js';
import { startRunbookWorld, type RunbookWorld } from './support/runbookWorld.js';
import { tenantIds, waitForRun } from './support/runs.js';
import { slowBatches } from './support/slowBatches.js';
import { until } from './support/until.js';

const LIMIT_MS = 1_000;

describe('replica lag (an owned primary and its streaming replica, real Temporal, real worker)', () => {
  let primary: OwnedPostgres | undefined;
  let replica: OwnedPostgres | undefined;
  let world: RunbookWorld | undefined;
  let standby: pg.Client | undefined;
  beforeAll(async () => {
    primary = await startOwnedPostgres();
    replica = await startOwnedPostgres({ replicaOf: primary });
    world = await startRunbookWorld({
      databaseUrl: primary.url('replica_lag'),
      seed: { tenants: 6, findingsPerTenant: 300, seed: 74 },
      settings: { batchSize: 20, childParallelism: 2 },
      gates: { hold: { replicaLagMs: LIMIT_MS } },
    });
    standby = new pg.Client({ connectionString: replica.url('replica_lag') });
    await standby.connect();
  }, 180_000);
  afterAll(async () => {
    await standby?.end();
    await world?.close();
    await replica?.destroy();
    await primary?.destroy();
  });

  it('holds the run while the replica lags over the limit, says so, and finishes with exact counts once it caught up', async () => {
    const pool = world!.pool;
    // Batches of some length, so that the run is still at work when the replica falls behind.
    const restore = await slowBatches(pool, 80);
    try {
      const before = await loadFindings(pool, await tenantIds(pool));
      const { run } = await world!.start({ kind: 'all_tenants' });
      await until(
        () => getRun(pool, run.id),
        (r) => (r?.counts.batches ?? 0) > 0 || r?.status === 'running',
        'the run to start',
      );
      await standby!.query('SELECT pg_wal_replay_pause()');
      const replayPaused = Date.now();

      const held = (await until(
        () => getRun(pool, run.id),
        (r) => r !== null && phaseOf(r) === 'held',
        'the run to be held by replica lag',
      ))!;
      expect(held.heldReason).toMatch(new RegExp(`^replica lag [\\d.]+ s > ${LIMIT_MS / 1000} s$`));
      // Over the limit a second after the replay stopped (the run writes all the time), and held
      // within 3 s of that: a snapshot at most 2 s old, and the batch in flight.
      expect(held.heldSince!.getTime() - replayPaused).toBeLessThanOrEqual(LIMIT_MS + 3_000);

      await standby!.query('SELECT pg_wal_replay_resume()');
      const done = await waitForRun(pool, run.id, 120_000);
      expect(done).toMatchObject({ outcome: 'succeeded', heldSince: null, counts: { tenantsFailed: 0 } });
      expect(done.heldMs).toBeGreaterThan(0);
      await expectEveryTenantFlagged(pool, done, before);

      const { rows: timeline } = await pool.query<{ at: Date; action: string; actor: string; metadata: object }>(
        `SELECT occurred_at AS at, action, actor_label AS actor, metadata FROM audit_events
          WHERE target_id = $1 ORDER BY id`,
        [run.id],
      );
      expect(timeline.map((event) => event.action)).toEqual(
        expect.arrayContaining(['runbook.started', 'runbook.held', 'runbook.released', 'runbook.completed']),
      );
      // The run's timeline, for whoever reads the test's output.
      console.log(
        `[replicaLag] replay paused at ${new Date(replayPaused).toISOString()}, held ${(done.heldMs / 1000).toFixed(1)} s in all:\n` +
          timeline
            .map(
              (event) =>
                `  ${event.at.toISOString()}  ${event.action}  ${event.actor}  ${JSON.stringify(event.metadata)}`,
            )
            .join('\n'),
      );
    } finally {
      await restore();
    }
  }, 180_000);
});
