import { describe, expect, it } from 'vitest';
import { getRunItems } from '../src/runbooks/runs.js';
import { runProgressQuery } from '../src/workflows/runbookFanOut.js';
import { preflightQuery } from '../src/workflows/queries.js';
import { runCli } from './support/cli.js';
import { flaggedTitle, loadFindings, mustFlag, toFlagByTenant, unflagFindings } from './support/flagOracle.js';
import { useRunbookHarness } from './support/harness.js';
import { createOperator, tenantIds, waitForRun } from './support/runs.js';
import { slowBatches } from './support/slowBatches.js';

describe('runbook execution (real PostgreSQL, real Temporal)', () => {
  // A small continue-as-new threshold makes the parent continue as new several times.
  const h = useRunbookHarness({
    seed: { tenants: 52, findingsPerTenant: 40, seed: 11 },
    settings: { continueAsNewAfter: 10, childParallelism: 4, batchSize: 16 },
  });

  it('does one tenant exactly as the rules say, and nothing else', async () => {
    const [first, second] = await tenantIds(h.database.pool);
    const before = await loadFindings(h.database.pool, [first!, second!]);

    const { rows } = await h.database.pool.query('SELECT external_id FROM tenants WHERE id = $1', [first]);
    const { preflight, run } = await h.start({ kind: 'tenants', externalIds: [rows[0].external_id] });
    const expectedChanged = toFlagByTenant(before, preflight).get(first!)!;
    expect(expectedChanged).toBeGreaterThan(0);
    // Some findings of the tenant are not the run's to change (the 'info' ones): examined is not changed.
    expect(expectedChanged).toBeLessThan(40);
    expect(preflight.report.toChange).toBe(expectedChanged);
    const done = await waitForRun(h.database.pool, run.id);

    expect(done).toMatchObject({ status: 'completed', outcome: 'succeeded', scopeKind: 'tenant' });
    expect(done.counts).toMatchObject({ tenants: 1, tenantsSucceeded: 1, changed: expectedChanged, examined: 40 });
    const after = await loadFindings(h.database.pool, [first!, second!]);
    expect(after.size).toBe(before.size);
    for (const [id, finding] of after) {
      const was = before.get(id)!;
      if (finding.tenantId === first) {
        expect(finding.title, `finding ${id}`).toBe(flaggedTitle(was, done));
        expect(mustFlag(finding, done), `finding ${id} still to change`).toBe(false);
        if (!mustFlag(was, done)) expect(finding.updatedAt, `finding ${id} needed no change`).toBe(was.updatedAt);
      } else {
        expect(finding, `finding ${id} of another tenant`).toEqual(was);
      }
    }
    const [item] = await getRunItems(h.database.pool, run.id);
    expect(item).toMatchObject({
      status: 'succeeded',
      counts: { changed: expectedChanged, verified: true, remaining: 0 },
    });
  });

  it('fans out over every tenant with continue-as-new, exact counts, and one notification at the end', async () => {
    const { pool } = h.database;
    const operator = await createOperator(pool);
    const customers = await tenantIds(pool);
    const [platform] = await tenantIds(pool, "external_id = 'platform'");
    expect(customers.length).toBeGreaterThanOrEqual(50);
    const before = await loadFindings(pool, [...customers, platform!]);

    const { preflight, run } = await h.start({ kind: 'all_tenants' }, { initiator: operator });
    const expectedByTenant = toFlagByTenant(before, preflight);
    // The platform's findings would be changed too, were it ever in scope.
    expect(expectedByTenant.get(platform!)).toBeGreaterThan(0);
    const expectedTotal = [...expectedByTenant.entries()]
      .filter(([t]) => t !== platform)
      .reduce((n, [, c]) => n + c, 0);
    expect(preflight.report).toMatchObject({ tenantsInScope: customers.length, toChange: expectedTotal });

    const handle = h.client.workflow.getHandle(run.workflowId!);
    expect(await handle.query(preflightQuery)).toMatchObject({ id: preflight.id, toChange: expectedTotal });
    // While the run is not completed there is no notification.
    const { rows: early } = await pool.query(
      `SELECT count(*)::int AS n FROM notifications WHERE data ->> 'runId' = $1`,
      [run.id],
    );
    expect(early[0].n).toBe(0);

    const done = await waitForRun(pool, run.id, 180_000);
    expect(done).toMatchObject({ outcome: 'succeeded', scopeKind: 'all_tenants' });
    expect(done.counts).toMatchObject({
      tenants: customers.length,
      tenantsSucceeded: customers.length,
      tenantsFailed: 0,
      changed: expectedTotal,
    });
    const finalProgress = await handle.query(runProgressQuery);
    expect(finalProgress).toMatchObject({ tenantsTotal: customers.length, tenantsDone: customers.length, running: 0 });
    expect(finalProgress.continuedAsNew).toBeGreaterThanOrEqual(5);

    const after = await loadFindings(pool, [...customers, platform!]);
    expect(after.size).toBe(before.size);
    for (const [id, finding] of after) {
      const was = before.get(id)!;
      if (finding.tenantId === platform) {
        expect(finding, `platform finding ${id}`).toEqual(was);
      } else {
        expect(mustFlag(finding, done), `finding ${id} still to change`).toBe(false);
        expect(finding.title, `finding ${id}`).toBe(flaggedTitle(was, done));
        if (!mustFlag(was, done)) expect(finding.updatedAt, `finding ${id} needed no change`).toBe(was.updatedAt);
      }
    }
    const items = await getRunItems(pool, run.id);
    expect(items).toHaveLength(customers.length);
    for (const item of items) expect(item.counts.changed).toBe(expectedByTenant.get(item.tenantId));

    const { rows: notes } = await pool.query(
      `SELECT n.type, n.data, n.created_at, r.completed_at
         FROM notifications n JOIN operation_runs r ON r.id = (n.data ->> 'runId')::uuid
        WHERE n.platform_user_id = $1`,
      [operator.kind === 'platform_user' ? operator.id : -1],
    );
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ type: 'OperationRunCompleted', data: { runId: run.id, outcome: 'succeeded' } });
    expect(notes[0].created_at).toEqual(notes[0].completed_at);

    // runs show lists the first 50 tenants and says where the rest are.
    const shown = await runCli(['runs', 'show', run.id], { DATABASE_URL: h.database.url }, { testRunbook: true });
    expect(shown.stdout).toContain(`Tenants (${customers.length}, failed first; the first 50 shown):`);
    expect(shown.stdout).toContain(`… and ${customers.length - 50} more: npm run cli -- runs export ${run.id}`);

    // A second run over unchanged data changes nothing.
    const again = await h.start({ kind: 'all_tenants' }, { initiator: operator });
    expect(again.preflight.report.toChange).toBe(0);
    const second = await waitForRun(pool, again.run.id, 180_000);
    expect(second.counts).toMatchObject({ changed: 0, tenantsSucceeded: customers.length });
  });

  it('does a small tenant in one local activity, and goes on in heartbeating activities when a tenant outlasts its first second', async () => {
    const { pool } = h.database;
    const [, , third, fourth] = await tenantIds(pool);
    const externalId = async (id: number) =>
      (await pool.query('SELECT external_id FROM tenants WHERE id = $1', [id])).rows[0].external_id;
    const batchActivities = async (workflowId: string) => {
      const events = (await h.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
      const scheduled = events.filter(
        (event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'processTenant',
      );
      // A local activity is a marker in the history (as are the patches: the batch activity's rename, change windows).
      const markers = events.map((event) => event.markerRecordedEventAttributes?.markerName).filter(Boolean);
      return {
        ordinary: scheduled.length,
        local: markers.filter((name) => name === 'core_local_activity').length,
        patches: markers.filter((name) => name === 'core_patch').length,
      };
    };
    await unflagFindings(pool);

    const small = (await h.start({ kind: 'tenants', externalIds: [await externalId(third!)] })).run;
    expect(await waitForRun(pool, small.id)).toMatchObject({
      outcome: 'succeeded',
      counts: { examined: 40, batches: 3 },
    });
    expect(await batchActivities(small.workflowId!)).toEqual({ ordinary: 0, local: 1, patches: 2 });

    // Three batches of 600 ms: the first stretch ends after two, the third runs as an ordinary activity.
    const undoSlow = await slowBatches(pool, 600);
    try {
      const slow = (await h.start({ kind: 'tenants', externalIds: [await externalId(fourth!)] })).run;
      expect(await waitForRun(pool, slow.id)).toMatchObject({
        outcome: 'succeeded',
        counts: { examined: 40, batches: 3 },
      });
      expect(await batchActivities(slow.workflowId!)).toEqual({ ordinary: 1, local: 1, patches: 2 });
      const [item] = await getRunItems(pool, slow.id);
      expect(item).toMatchObject({
        status: 'succeeded',
        counts: { verified: true, remaining: 0, cursor: expect.any(Number) },
      });
      expect(item!.counts.spentMs?.batches).toBeGreaterThanOrEqual(3 * 600);
    } finally {
      await undoSlow();
    }
  });
});
