import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectEveryTenantFlagged, loadFindings } from '../support/flagOracle.js';
import { startOwnedDevServer, type OwnedDevServer } from '../support/ownedDevServer.js';
import { startRunbookWorld } from '../support/runbookWorld.js';
import { notificationsOf, settledItems, tenantIds, waitForRun, waitForTenantMidWork } from '../support/runs.js';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.js';

const SETTINGS = { batchSize: 25, childParallelism: 2, heartbeatTimeoutMs: 3_000, maxAttempts: 5 };
const seconds = (ms: number) => Math.round(ms / 100) / 10;

describe('the Temporal dev server stopped and restarted in the middle of an all-tenants run (file-backed store)', () => {
  let temporal: OwnedDevServer;
  let database: TestDatabase;
  beforeAll(async () => {
    [temporal, database] = await Promise.all([startOwnedDevServer(), createTestDatabase()]);
  });
  afterAll(async () => {
    await temporal?.destroy();
    await database?.destroy();
  });

  it('the worker and client reconnect by themselves; the run resumes and succeeds with exact counts and correct data', async () => {
    const world = await startRunbookWorld({
      databaseUrl: database.url,
      seed: { tenants: 30, findingsPerTenant: 300, seed: 41 },
      settings: SETTINGS,
      temporalAddress: temporal.address,
    });
    try {
      const customers = await tenantIds(world.pool);
      const before = await loadFindings(world.pool, customers);
      const { preflight, run } = await world.start({ kind: 'all_tenants' });
      expect(preflight.report.toChange).toBeGreaterThan(0);

      const { settled: settledAtStop } = await waitForTenantMidWork(world.pool, run.id);
      expect(settledAtStop).toBeLessThan(customers.length);
      await temporal.stop();
      const down = Date.now();
      const settledAtDown = await settledItems(world.pool, run.id);
      await sleep(10_000);
      // Without Temporal no new tenant starts: at most the ones mid-work at the stop can land.
      const settledWhileDown = await settledItems(world.pool, run.id);
      expect(settledWhileDown).toBeLessThanOrEqual(settledAtDown + SETTINGS.childParallelism);
      await temporal.start();
      const secondsDown = seconds(Date.now() - down);
      const upAt = Date.now();

      const done = await waitForRun(world.pool, run.id, 240_000).catch((error: Error) => {
        throw new Error(`${error.message}; the worker: ${world.workerFailure()?.message ?? 'still running'}`);
      });
      expect(world.workerFailure(), `the worker stopped: ${world.workerFailure()?.message}`).toBeUndefined();
      const rowsChecked = await expectEveryTenantFlagged(world.pool, done, before);
      expect(await notificationsOf(world.pool, run.id)).toBe(1);
      // The client reconnected too: it reads the finished workflow from the restarted server.
      const { status } = await world.client.workflow.getHandle(run.workflowId!).describe();
      expect(status.name).toBe('COMPLETED');
      console.log(
        `[outage.temporal] Temporal dev server down ${secondsDown} s after ${settledAtStop}/${customers.length} tenants settled ` +
          `(${settledWhileDown} settled 10 s into the outage); outcome ${done.outcome}; ` +
          `${done.counts.tenantsSucceeded}/${customers.length} tenants succeeded; ${rowsChecked} findings checked, ${done.counts.changed} changed; ` +
          `run took ${seconds(done.completedAt!.getTime() - done.startedAt!.getTime())} s, ${seconds(done.completedAt!.getTime() - upAt)} s after the restart`,
      );
    } finally {
      await temporal.start().catch(() => {});
      await world.close();
    }
  });
});
