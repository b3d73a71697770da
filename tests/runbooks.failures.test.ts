import { describe, expect, it } from 'vitest';
import { getRunItems } from '../src/runbooks/runs.js';
import { loadFindings, mustFlag } from './support/flagOracle.js';
import { useRunbookHarness } from './support/harness.js';
import { tenantIds, waitForRun } from './support/runs.js';

describe('runbook failures (real PostgreSQL, real Temporal)', () => {
  const h = useRunbookHarness({ seed: { tenants: 6, findingsPerTenant: 30, seed: 5 }, settings: { maxAttempts: 2 } });

  it('records a tenant that keeps failing and finishes the others: partially_succeeded', async () => {
    const { pool } = h.database;
    const customers = await tenantIds(pool);
    const broken = customers[2]!;
    // Sequences ignore rollbacks, so this counts the attempts at the failing batch.
    await pool.query(`
      CREATE SEQUENCE refusals;
      CREATE FUNCTION refuse_tenant() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM nextval('refusals'); RAISE EXCEPTION 'tenant % is locked for maintenance', NEW.tenant_id; END $$;
      CREATE TRIGGER refuse_tenant BEFORE UPDATE ON findings FOR EACH ROW
        WHEN (NEW.tenant_id = ${broken}) EXECUTE FUNCTION refuse_tenant();`);
    try {
      const done = await waitForRun(pool, (await h.start({ kind: 'all_tenants' })).run.id);
      expect(done).toMatchObject({ outcome: 'partially_succeeded' });
      expect(done.counts).toMatchObject({ tenants: 6, tenantsSucceeded: 5, tenantsFailed: 1 });
      const items = await getRunItems(pool, done.id);
      const failed = items.find((item) => item.tenantId === broken)!;
      expect(failed.status).toBe('failed');
      expect(failed.error).toContain(`tenant ${broken} is locked for maintenance`);
      expect(items.filter((item) => item.status === 'succeeded')).toHaveLength(5);
      // A business failure is tried RUNBOOK_MAX_ATTEMPTS (here 2) times, not retried forever.
      const { rows: attempts } = await pool.query(`SELECT last_value::int AS n FROM refusals`);
      expect(attempts[0].n).toBe(2);

      // Only the broken tenant still has findings to change.
      const remaining = new Set<number>();
      for (const finding of (await loadFindings(pool, customers)).values()) {
        if (mustFlag(finding, done)) remaining.add(finding.tenantId);
      }
      expect([...remaining]).toEqual([broken]);
      const { rows } = await pool.query(
        `SELECT count(*)::int AS n FROM notifications WHERE data ->> 'runId' = $1 AND data ->> 'outcome' = 'partially_succeeded'`,
        [done.id],
      );
      expect(rows[0].n).toBe(1);
    } finally {
      await pool.query('DROP TRIGGER refuse_tenant ON findings; DROP FUNCTION refuse_tenant(); DROP SEQUENCE refusals');
    }
  });

  it.each([
    ['an all-tenants run', { kind: 'all_tenants' as const }],
    ['a single-tenant run', { kind: 'tenants' as const, externalIds: ['tenant-00002'] }],
  ])(
    'completes %s as failed, with the error, when its workflow fails for a reason it did not handle',
    async (_, scope) => {
      const { pool } = h.database;
      await pool.query(`
      CREATE FUNCTION refuse_items() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'run items are read-only today'; END $$;
      CREATE TRIGGER refuse_items BEFORE INSERT ON operation_run_items FOR EACH ROW EXECUTE FUNCTION refuse_items();`);
      let runId: string;
      try {
        runId = (await h.start(scope)).run.id;
        const done = await waitForRun(pool, runId);
        expect(done).toMatchObject({ status: 'completed', outcome: 'failed', error: 'run items are read-only today' });
        const handle = h.client.workflow.getHandle(done.workflowId!);
        await expect(handle.result()).rejects.toThrow();
        expect((await handle.describe()).status.name).toBe('FAILED');
      } finally {
        await pool.query('DROP TRIGGER refuse_items ON operation_run_items; DROP FUNCTION refuse_items()');
      }
      // The scope is free again: the same start is accepted and runs.
      const again = await waitForRun(pool, (await h.start(scope)).run.id);
      expect(again.outcome).toBe('succeeded');
    },
  );

  it('starts and completes runs while every audit insert fails', async () => {
    const { pool } = h.database;
    await pool.query(`
      CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'audit store unavailable'; END $$;
      CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_audit();`);
    try {
      // The trigger really refuses inserts (a REVOKE would not stop the superuser tests use).
      await expect(
        pool.query(`INSERT INTO audit_events (actor_kind, action) VALUES ('system', 'probe')`),
      ).rejects.toThrow('audit store unavailable');
      const { rows: before } = await pool.query('SELECT count(*)::int AS n FROM audit_events');
      const { rows } = await pool.query(`SELECT external_id FROM tenants WHERE id = $1`, [(await tenantIds(pool))[0]]);
      const { run } = await h.start({ kind: 'tenants', externalIds: [rows[0].external_id] });
      const done = await waitForRun(pool, run.id);
      expect(done).toMatchObject({ status: 'completed', outcome: 'succeeded' });
      const { rows: after } = await pool.query('SELECT count(*)::int AS n FROM audit_events');
      expect(after[0].n).toBe(before[0].n);
      const { rows: notes } = await pool.query(
        `SELECT count(*)::int AS n FROM notifications WHERE data ->> 'runId' = $1`,
        [done.id],
      );
      expect(notes[0].n).toBe(1);
    } finally {
      await pool.query('DROP TRIGGER refuse_audit ON audit_events; DROP FUNCTION refuse_audit()');
    }
  });
});
