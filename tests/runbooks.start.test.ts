import { Client } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../src/errors.js';
import { CAPABILITIES } from '../src/runbooks/capabilities.js';
import type { Initiator } from '../src/runbooks/initiator.js';
import { runPreflight } from '../src/runbooks/preflight.js';
import { RunbookRefusal } from '../src/runbooks/refusal.js';
import { getRunbook } from '../src/runbooks/registry.js';
import { insertRun } from '../src/runbooks/runs.js';
import { workflowIdFor } from '../src/temporal/workflowIds.js';
import type { ScopeInput } from '../src/runbooks/scope.js';
import { precheckStart, runOf, startRunbook } from '../src/runbooks/start.js';
import { storedIdempotencyKey } from '../src/runbooks/idempotencyKeys.js';
import { ALL_TENANTS_PHRASE } from '../src/runbooks/model.js';
import type { StartRequest } from '../src/runbooks/validateStart.js';
import { seedDemoData } from '../src/seed/seedDemoData.js';
import { flagTenant } from './support/flagOracle.js';
import { FLAG_PARAMETERS, RUNBOOK, useRunbookHarness } from './support/harness.js';
import { until } from './support/until.js';
import { testLauncher } from './support/temporal.js';

const REASON = 'Flag the old findings for the audit';
const tenants = (...externalIds: string[]): ScopeInput => ({ kind: 'tenants', externalIds });

// No worker polls this file's task queue: started runs stay queued, holding their scope.
describe('startRunbook: validation, preflight, locking, idempotency', () => {
  const h = useRunbookHarness({ seed: { tenants: 16, findingsPerTenant: 30, seed: 3 }, worker: false });

  const preflight = (scope: ScopeInput) =>
    runPreflight(h.database.pool, {
      runbook: getRunbook(RUNBOOK),
      scope,
      parameters: FLAG_PARAMETERS,
      initiator: h.operator,
    });

  async function start(request: Partial<StartRequest> & { scope: ScopeInput }, now?: Date) {
    const preflightId = request.preflightId === undefined ? (await preflight(request.scope)).id : request.preflightId;
    return runOf(
      await startRunbook(
        { pool: h.database.pool, launcher: h.launcher, ...(now ? { now: () => now } : {}) },
        {
          runbook: RUNBOOK,
          parameters: FLAG_PARAMETERS,
          initiator: h.operator,
          reason: REASON,
          source: 'system_ui',
          confirmation: request.scope.kind === 'all_tenants' ? ALL_TENANTS_PHRASE : null,
          ...request,
          preflightId,
        },
      ),
    );
  }

  async function tableCounts() {
    const { rows } = await h.database.pool.query(`
      SELECT (SELECT count(*) FROM operation_runs)::int AS runs, (SELECT count(*) FROM operation_run_items)::int AS items,
             (SELECT count(*) FROM notifications)::int AS notifications,
             (SELECT count(*) FROM audit_events WHERE action <> 'runbook.preflighted')::int AS audits`);
    return rows[0] as { runs: number; items: number; notifications: number; audits: number };
  }

  /** The start is refused with `code` and `message`, and only its audit event is written. */
  async function expectRefusal(attempt: () => Promise<unknown>, code: string, message: RegExp) {
    const before = await tableCounts();
    const error = await attempt().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RunbookRefusal);
    expect((error as RunbookRefusal).code).toBe(code);
    expect((error as Error).message).toMatch(message);
    expect(await tableCounts()).toEqual({ ...before, audits: before.audits + 1 });
    const { rows } = await h.database.pool.query(`SELECT action, metadata FROM audit_events ORDER BY id DESC LIMIT 1`);
    expect(rows[0]).toMatchObject({ action: 'runbook.start_rejected', metadata: { code } });
  }

  it('never targets the platform tenant', async () => {
    await expectRefusal(
      () => start({ scope: tenants('tenant-00001', 'platform'), preflightId: null }),
      'platform_tenant',
      /platform tenant \("platform"\) can never be targeted/,
    );
  });

  it('names every unknown tenant', async () => {
    await expectRefusal(
      () => start({ scope: tenants('tenant-00001', 'nope-a', 'nope-b'), preflightId: null }),
      'unknown_tenant',
      /Unknown tenants: nope-a, nope-b\./,
    );
  });

  it('needs a reason of 10 to 500 characters', async () => {
    await expectRefusal(
      () => start({ scope: tenants('tenant-00001'), reason: '  too short ' }),
      'reason_length',
      /10 to 500 characters; it has 9/,
    );
    await expectRefusal(
      () => start({ scope: tenants('tenant-00001'), reason: 'x'.repeat(501) }),
      'reason_length',
      /it has 501/,
    );
  });

  it('needs the exact typed phrase for all tenants', async () => {
    await expectRefusal(
      () => start({ scope: { kind: 'all_tenants' }, confirmation: 'all tenants' }),
      'confirmation',
      /typed confirmation "ALL TENANTS" exactly/,
    );
  });

  it("checks a platform user's capabilities whatever the request says its source is", async () => {
    const limited: Initiator = {
      kind: 'platform_user',
      id: 1,
      email: 'viewer@example.com',
      capabilities: [CAPABILITIES.runbooksRun],
    };
    await expectRefusal(
      () => start({ scope: { kind: 'all_tenants' }, initiator: limited }),
      'capability',
      /platform\.ops\.runbooks\.run_all_tenants/,
    );
    const viewer: Initiator = {
      kind: 'platform_user',
      id: 1,
      email: 'viewer@example.com',
      capabilities: [CAPABILITIES.runbooksView],
    };
    for (const source of ['cli', 'deploy_hook', 'system_ui'] as const) {
      await expectRefusal(
        () => start({ scope: tenants('tenant-00001'), initiator: viewer, source }),
        'capability',
        /platform\.ops\.runbooks\.run to start a runbook/,
      );
    }
  });

  it('refuses a missing, mismatched, stale or drifted preflight', async () => {
    await expectRefusal(
      () => start({ scope: tenants('tenant-00002'), preflightId: null }),
      'preflight_missing',
      /run a preflight first/,
    );
    const other = await preflight(tenants('tenant-00003'));
    await expectRefusal(
      () => start({ scope: tenants('tenant-00002'), preflightId: other.id }),
      'preflight_mismatch',
      /not this runbook and scope/,
    );
    const fresh = await preflight(tenants('tenant-00002'));
    const later = new Date(Date.now() + 61 * 60_000);
    await expectRefusal(
      () => start({ scope: tenants('tenant-00002'), preflightId: fresh.id }, later),
      'preflight_stale',
      /is 6\d minutes old \(the limit is 60\)/,
    );

    // Someone flagged the tenant meanwhile: every finding the preflight counted is already done.
    const { rows } = await h.database.pool.query(`SELECT id::int FROM tenants WHERE external_id = 'tenant-00002'`);
    expect(await flagTenant(h.database.pool, rows[0].id, fresh)).toBe(fresh.report.toChange);
    await expectRefusal(
      () => start({ scope: tenants('tenant-00002'), preflightId: fresh.id }),
      'preflight_drift',
      new RegExp(`counted 1 tenants and ${fresh.report.toChange} findings to change, now there are 1 tenants and 0`),
    );
  });

  it('treats a new tenant as drift for an all-tenants preflight', async () => {
    const before = await preflight({ kind: 'all_tenants' });
    await seedDemoData(h.database.pool, { tenants: 1, findingsPerTenant: 0, seed: 3 });
    await expectRefusal(
      () => start({ scope: { kind: 'all_tenants' }, preflightId: before.id }),
      'preflight_drift',
      /counted 16 tenants .* now there are 17 tenants/,
    );
  });

  it('locks the scope while a run is active, naming the run that holds it', async () => {
    const { run } = await start({ scope: tenants('tenant-00004', 'tenant-00005') });
    expect(run.status).toBe('queued');
    const holder = new RegExp(
      `Run ${run.id} \\(queued, tenant-00004, tenant-00005, by ${h.operator.kind === 'platform_user' ? h.operator.email : ''}\\)`,
    );
    await expectRefusal(() => start({ scope: tenants('tenant-00005') }), 'overlapping_run', holder);
    await expectRefusal(() => start({ scope: { kind: 'all_tenants' } }), 'overlapping_run', holder);
    const { run: other } = await start({ scope: tenants('tenant-00006') });
    expect(other.id).not.toBe(run.id);
  });

  it('returns the existing run for a reused key and refuses the key with other parameters', async () => {
    const first = await start({ scope: tenants('tenant-00007'), idempotencyKey: 'deploy:r1:lifecycle' });
    const again = await start({ scope: tenants('tenant-00007'), idempotencyKey: 'deploy:r1:lifecycle' });
    expect(first.created).toBe(true);
    expect(again).toMatchObject({ created: false, run: { id: first.run.id } });
    await expectRefusal(
      () => start({ scope: tenants('tenant-00008'), idempotencyKey: 'deploy:r1:lifecycle' }),
      'idempotency_conflict',
      new RegExp(`already used for run ${first.run.id} with other parameters`),
    );
    const handle = h.client.workflow.getHandle(first.run.workflowId!);
    expect((await handle.describe()).status.name).toBe('RUNNING');
  });

  it('yields exactly one run from 20 concurrent starts of one scope', async () => {
    const scope = tenants('tenant-00009');
    const confirmed = await preflight(scope);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => start({ scope, preflightId: confirmed.id })),
    );
    const started = results.filter((r) => r.status === 'fulfilled');
    expect(started).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'rejected') expect((result.reason as RunbookRefusal).code).toBe('overlapping_run');
    }
    const { rows } = await h.database.pool.query(
      `SELECT count(*)::int AS n FROM operation_runs WHERE scope -> 'tenants' -> 0 ->> 'externalId' = 'tenant-00009'`,
    );
    expect(rows[0].n).toBe(1);
  });

  it('refuses as drifted a start whose data moved while it waited for the lock, after the overlap check', async () => {
    const scope = tenants('tenant-00014');
    const confirmed = await preflight(scope);
    expect(confirmed.report.toChange).toBeGreaterThan(0);
    // The lock a start takes to write a run of this data: held here, as a concurrent start would.
    const holder = await h.database.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `operation_runs.writes:${getRunbook(RUNBOOK).writes}`,
      ]);
      const waiting = start({ scope, preflightId: confirmed.id }).then(
        (result) => result,
        (error: unknown) => error,
      );
      await until(
        async () =>
          (
            await h.database.pool.query(
              `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`,
            )
          ).rows[0].n as number,
        (n) => n === 1,
        'the start to wait for the lock',
      );
      // What a run that ended meanwhile would have done: every finding of the scope changed.
      await h.database.pool.query(
        `UPDATE findings SET title = title || ' [flagged]', updated_at = now()
          WHERE tenant_id = (SELECT id FROM tenants WHERE external_id = 'tenant-00014')`,
      );
      await holder.query('COMMIT');
      const outcome = await waiting;
      expect(outcome).toBeInstanceOf(RunbookRefusal);
      expect(outcome).toMatchObject({ code: 'preflight_drift' });
    } finally {
      holder.release();
    }
    const { rows } = await h.database.pool.query(
      `SELECT count(*)::int AS n FROM operation_runs WHERE scope -> 'tenants' -> 0 ->> 'externalId' = 'tenant-00014'`,
    );
    expect(rows[0].n).toBe(0);
  });

  it("keeps an idempotency key in its maker's namespace: another maker's same key starts afresh", async () => {
    const key = 'deploy:r42:test.findings.flag';
    const operators = await start({ scope: tenants('tenant-00015'), idempotencyKey: key });
    expect(operators.created).toBe(true);
    // An engineer at the CLI with the same key, for another tenant: a run of their own, not a conflict.
    const engineer: Initiator = { kind: 'cli', label: 'cli:other@host' };
    const engineers = await start({ scope: tenants('tenant-00016'), idempotencyKey: key, initiator: engineer });
    expect(engineers.created).toBe(true);
    expect(engineers.run.id).not.toBe(operators.run.id);
    // The deploy hook's key is its own too: the operator's use of it neither replays nor blocks it.
    const deploy: Initiator = { kind: 'deploy_hook', label: 'deploy:r42' };
    const request: StartRequest = {
      runbook: RUNBOOK,
      scope: tenants('tenant-00015'),
      parameters: FLAG_PARAMETERS,
      initiator: deploy,
      reason: REASON,
      source: 'deploy_hook',
      idempotencyKey: key,
    };
    expect(await precheckStart({ pool: h.database.pool }, request, { overlap: false })).toBeNull();
    // Each maker's replay still finds its own run.
    expect(await start({ scope: tenants('tenant-00015'), idempotencyKey: key })).toMatchObject({
      created: false,
      run: { id: operators.run.id },
    });
    const { rows } = await h.database.pool.query(
      `SELECT idempotency_key AS key FROM operation_runs WHERE id = ANY($1)`,
      [[operators.run.id, engineers.run.id]],
    );
    expect(rows.map((row) => row.key).sort()).toEqual([`cli:other@host ${key}`, storedIdempotencyKey(h.operator, key)]);
  });

  it('yields one run for 20 concurrent starts with one idempotency key', async () => {
    const scope = tenants('tenant-00010');
    const confirmed = await preflight(scope);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => start({ scope, preflightId: confirmed.id, idempotencyKey: 'same-key-20' })),
    );
    expect(new Set(results.map((r) => r.run.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it('records the run as failed and frees its scope when Temporal does not take the workflow', async () => {
    const scope = tenants('tenant-00011');
    const confirmed = await preflight(scope);
    // A namespace the server does not have: Temporal refuses the start at once.
    const elsewhere = new Client({ connection: h.client.connection, namespace: 'no-such-namespace' });
    const error = await startRunbook(
      { pool: h.database.pool, launcher: testLauncher({ config: h.config, client: elsewhere }) },
      {
        runbook: RUNBOOK,
        scope,
        parameters: FLAG_PARAMETERS,
        initiator: h.operator,
        reason: REASON,
        source: 'cli',
        preflightId: confirmed.id,
      },
    ).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toMatch(
      /^Temporal at 127\.0\.0\.1:\d+ did not start the workflow \(.*no-such-namespace.*\); run [0-9a-f-]{36} is recorded as failed/,
    );
    const { rows } = await h.database.pool.query(
      `SELECT status, outcome, error FROM operation_runs WHERE scope -> 'tenants' -> 0 ->> 'externalId' = 'tenant-00011'`,
    );
    expect(rows).toEqual([{ status: 'completed', outcome: 'failed', error: (error as Error).message }]);
    const { rows: audit } = await h.database.pool.query(`SELECT action FROM audit_events ORDER BY id DESC LIMIT 1`);
    expect(audit[0].action).toBe('runbook.start_failed');
    const retry = await start({ scope, preflightId: confirmed.id });
    expect(retry.run.status).toBe('queued');
  });

  it('launches a replayed start of a run still queued (its starter died), with its preflight and audit', async () => {
    const scope = tenants('tenant-00012');
    const confirmed = await preflight(scope);
    const { rows } = await h.database.pool.query(
      `SELECT id::int, workspace_id::int FROM tenants WHERE external_id = 'tenant-00012'`,
    );
    const id = crypto.randomUUID();
    // The row as the first starter wrote it, before it could start the workflow.
    await insertRun(h.database.pool, {
      id,
      workflowId: workflowIdFor(id),
      workspaceId: rows[0].workspace_id,
      runbook: RUNBOOK,
      scopeKind: 'tenant',
      scope: { tenants: [{ externalId: 'tenant-00012', id: rows[0].id }] },
      parameters: confirmed.parameters,
      asOf: confirmed.asOf,
      source: 'cli',
      initiatorLabel: 'first starter',
      reason: REASON,
      idempotencyKey: storedIdempotencyKey(h.operator, 'replay-of-queued'),
      counts: {},
      preflightId: confirmed.id,
    });
    // Key order differs after the JSONB round trip; the scope is still the same.
    const again = await start({ scope, preflightId: null, idempotencyKey: 'replay-of-queued' });
    expect(again).toMatchObject({ created: false, run: { id } });
    const handle = h.client.workflow.getHandle(workflowIdFor(id));
    const history = await handle.fetchHistory();
    const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
    expect(JSON.parse(Buffer.from(input!).toString())).toMatchObject({
      runId: id,
      preflight: { id: confirmed.id, toChange: confirmed.report.toChange },
    });
    const { rows: audit } = await h.database.pool.query(`SELECT action FROM audit_events WHERE target_id = $1`, [id]);
    expect(audit).toEqual([{ action: 'runbook.started' }]);
    // A third start with the key finds the workflow running and starts (and audits) nothing.
    await start({ scope, preflightId: null, idempotencyKey: 'replay-of-queued' });
    expect(
      (await h.database.pool.query(`SELECT count(*)::int AS n FROM audit_events WHERE target_id = $1`, [id])).rows[0].n,
    ).toBe(1);
  });

  it("refuses a key that another runbook's start takes at the same moment, without a raw database error", async () => {
    const scope = tenants('tenant-00013');
    const confirmed = await preflight(scope);
    const other = await h.database.pool.connect();
    try {
      // Another runbook's starter holds the key in an open transaction, outside this runbook's lock.
      await other.query('BEGIN');
      await other.query(
        `INSERT INTO operation_runs (workspace_id, runbook, scope_kind, scope, source, initiator_label, reason, idempotency_key)
         SELECT workspace_id, 'other.runbook', 'tenant', '{"tenants":[]}', 'cli', 'other', 'another runbook', $1
           FROM tenants WHERE external_id = 'tenant-00013'`,
        [storedIdempotencyKey(h.operator, 'shared-key')],
      );
      const attempt = start({ scope, preflightId: confirmed.id, idempotencyKey: 'shared-key' }).catch(
        (e: unknown) => e,
      );
      // Commit only once the starter waits on the key's row, so the key reaches it as a unique violation
      // (committing earlier would let it find the run before its INSERT and refuse by the ordinary replay path).
      await until(
        async () =>
          (
            await h.database.pool.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM pg_stat_activity
                WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE 'insert into "operation_runs"%'`,
            )
          ).rows[0]!.n,
        (blocked) => blocked === 1,
        "the starter's INSERT waiting on the uncommitted key",
      );
      await other.query('COMMIT');
      const error = await attempt;
      expect(error).toBeInstanceOf(RunbookRefusal);
      expect(error).toMatchObject({
        code: 'idempotency_conflict',
        message: expect.stringMatching(/^Idempotency key "shared-key" was already used for run /),
      });
    } finally {
      other.release();
    }
  });
});
