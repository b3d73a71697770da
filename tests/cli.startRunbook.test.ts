import { describe, expect, it } from 'vitest';
import { runCli, spawnCli } from './support/cli.js';
import { slowBatches } from './support/slowBatches.js';
import { useRunbookHarness } from './support/harness.js';

const REASON = 'Backfill after the rules v1 release';

describe('tsx src/cli start-runbook / runs', () => {
  const h = useRunbookHarness({ seed: { tenants: 4, findingsPerTenant: 25, seed: 9 } });
  const env = (): Record<string, string> => ({
    DATABASE_URL: h.database.url,
    TEMPORAL_ADDRESS: h.config.temporal.address,
    TEMPORAL_TASK_QUEUE: h.config.temporal.taskQueue,
    RUNBOOK_MAX_ATTEMPTS: '1',
  });

  const count = async (table: string) =>
    (await h.database.pool.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n as number;

  it('prints the preflight only, as JSON, and starts nothing', async () => {
    const result = await runCli(
      ['start-runbook', 'findings-lifecycle', '--tenant', 'tenant-00001', '--preflight-only', '--json'],
      env(),
    );
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const preflight = JSON.parse(result.stdout);
    expect(preflight.report).toMatchObject({ tenantsInScope: 1, inScope: 25, unit: 'findings' });
    expect(preflight.report.toChange).toBeGreaterThan(0);
    expect(await count('operation_runs')).toBe(0);
  });

  it('starts, follows with --wait and exits 0 on success; runs list and show report it', async () => {
    const result = await runCli(
      [
        'start-runbook',
        'findings-lifecycle',
        '--tenant',
        'tenant-00002',
        '--reason',
        REASON,
        '--batch-target',
        '300ms',
        '--wait',
        '--json',
      ],
      env(),
    );
    expect(result.code).toBe(0);
    const { run, created } = JSON.parse(result.stdout);
    expect(created).toBe(true);
    expect(run).toMatchObject({ status: 'completed', outcome: 'succeeded', source: 'cli' });
    // Sized by itself (the default), aiming at the target asked for, from the usual 2,000 rows.
    expect(run.settings).toMatchObject({ batchSize: 2000, batchTargetMs: 300 });
    expect(run.initiatorLabel).toMatch(/^cli:/);
    // Not a terminal: progress comes as plain lines, never a carriage-return bar.
    expect(result.stderr).not.toContain('\r');

    const listed = await runCli(['runs', 'list', '--json', '--status', 'completed'], env());
    expect(JSON.parse(listed.stdout).map((r: { id: string }) => r.id)).toContain(run.id);
    const shown = await runCli(['runs', 'show', run.id, '--json'], env());
    const detail = JSON.parse(shown.stdout);
    expect(detail.items).toEqual([expect.objectContaining({ externalId: 'tenant-00002', status: 'succeeded' })]);
    expect(detail.audit.map((e: { action: string }) => e.action)).toEqual(['runbook.started', 'runbook.completed']);
    const cancel = await runCli(['runs', 'cancel', run.id], env());
    expect(cancel).toMatchObject({
      code: 2,
      stderr: `error: Run ${run.id} is already completed (succeeded); there is nothing to cancel.\n`,
    });
    const human = await runCli(['runs', 'show', run.id], env());
    expect(human.stdout).toContain(`Run ${run.id} — findings.lifecycle.rebuild on tenant-00002`);
    expect(human.stdout).toContain('Completed (succeeded): 1/1 tenants');
    expect(human.stdout).toContain('  batches sized to take 300 ms (now 2,000 rows)');
  });

  it('exits 1 with --wait when the run does not succeed', async () => {
    const { rows } = await h.database.pool.query(`SELECT id FROM tenants WHERE external_id = 'tenant-00003'`);
    await h.database.pool.query(`
      CREATE FUNCTION refuse_tenant() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$;
      CREATE TRIGGER refuse_tenant BEFORE UPDATE ON findings FOR EACH ROW WHEN (NEW.tenant_id = ${rows[0].id}) EXECUTE FUNCTION refuse_tenant();`);
    try {
      const result = await runCli(
        ['start-runbook', 'findings-lifecycle', '--tenant', 'tenant-00003', '--reason', REASON, '--wait'],
        env(),
      );
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/Completed \(failed\): 1\/1 tenants, 1 failed/);
    } finally {
      await h.database.pool.query('DROP TRIGGER refuse_tenant ON findings; DROP FUNCTION refuse_tenant()');
    }
  });

  it('refuses bad input with one line and the right exit code, before any preflight', async () => {
    const preflights = await count('preflights');
    const startOne = (...flags: string[]) => [
      'start-runbook',
      'findings-lifecycle',
      '--tenant',
      'tenant-00001',
      '--reason',
      REASON,
      ...flags,
    ];
    const cases: Array<[string[], number, RegExp]> = [
      [
        ['start-runbook', 'findings-lifecycle', '--reason', REASON],
        2,
        /^error: Choose a scope: --tenant <external_id> \(repeatable, or comma-separated\) or --all-tenants\.\n$/,
      ],
      [
        ['start-runbook', 'findings-lifecycle', '--tenant', 'a', '--all-tenants', '--reason', REASON],
        2,
        /either --tenant or --all-tenants, not both/,
      ],
      [['start-runbook', 'findings-lifecycle', '--tenant', 'tenant-00001'], 2, /--reason "<why>" is required/],
      [
        ['start-runbook', 'nope', '--tenant', 'tenant-00001', '--reason', REASON],
        2,
        /Unknown runbook "nope"\. Known runbooks: findings-lifecycle \(findings\.lifecycle\.rebuild\), close-stale-findings \(findings\.stale\.close\), tenant-finding-stats \(tenants\.finding_stats\.rebuild\)\./,
      ],
      [
        ['start-runbook', 'findings-lifecycle', '--all-tenants', '--reason', REASON, '--confirm', 'all tenants'],
        2,
        /typed confirmation "ALL TENANTS" exactly/,
      ],
      [
        ['start-runbook', 'findings-lifecycle', '--tenant', 'tenant-00001', '--reason', 'short'],
        2,
        /10 to 500 characters; it has 5/,
      ],
      [
        startOne('--batch-size', '10'),
        2,
        /The batch size of findings\.lifecycle\.rebuild must be auto or a whole number from 50 to 50,000 rows; got 10\./,
      ],
      [
        startOne('--batch-size', '500', '--batch-target', '1s'),
        2,
        /A fixed batch size has no target duration; give one or the other\./,
      ],
      [startOne('--batch-target', 'soon'), 2, /"soon" is not a duration \(write 500ms, 5s, 2m or 1h\)/],
      [['runs', 'show', 'not-a-run'], 2, /No run with id not-a-run\./],
      [['runs', 'cancel', 'not-a-run'], 2, /No run with id not-a-run\./],
      [
        ['runs', 'list', '--status', 'done'],
        2,
        /expected one of queued, running, held, paused, cancelling, completed, succeeded/,
      ],
    ];
    for (const [args, code, message] of cases) {
      const result = await runCli(args, env());
      expect({ args, code: result.code }).toEqual({ args, code });
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')[0]).toMatch(/^error/);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    expect(await count('preflights')).toBe(preflights);
  });

  it('names the Temporal address it cannot reach', async () => {
    const result = await runCli(
      ['start-runbook', 'findings-lifecycle', '--tenant', 'tenant-00004', '--reason', REASON],
      {
        ...env(),
        TEMPORAL_ADDRESS: '127.0.0.1:1',
      },
    );
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^error: Cannot reach Temporal at 127\.0\.0\.1:1 /m);
  });

  it('Ctrl-C stops following, not the run, and says how to follow again', async () => {
    const restore = await slowBatches(h.database.pool, 300);
    try {
      await h.database.pool.query(
        `UPDATE findings SET lifecycle_version = 0 WHERE tenant_id = (SELECT id FROM tenants WHERE external_id = 'tenant-00001')`,
      );
      // One finding a batch, each batch at least 200 ms: the run outlasts the interruption.
      const cli = spawnCli(
        ['start-runbook', 'findings-lifecycle', '--tenant', 'tenant-00001', '--reason', REASON, '--wait'],
        {
          ...env(),
          RUNBOOK_BATCH_SIZE: '1',
        },
      );
      const [, runId] = await cli.waitForStderr(/Started: run ([0-9a-f-]{36})/);
      // A one-tenant run shows its tenant's batches as they commit, not 0 until the end.
      await cli.waitForStderr(/Running: 0\/1 tenants; [1-9]\d* findings? changed of [1-9]/, 30_000);
      cli.interrupt();
      const result = await cli.exited;
      expect(result.code).toBe(130);
      expect(result.stderr).toContain(
        `Stopped following; run ${runId} goes on. Follow it again with: npm run cli -- runs follow ${runId}`,
      );
      expect(result.stderr).not.toMatch(/\n\s+at /);
      await restore();
      const followed = await runCli(['runs', 'follow', runId!, '--json'], env());
      expect(followed.code).toBe(0);
      expect(JSON.parse(followed.stdout)).toMatchObject({
        interrupted: false,
        run: { id: runId, status: 'completed', outcome: 'succeeded' },
      });
    } finally {
      await restore();
    }
  });

  it('documents every option in --help', async () => {
    const result = await runCli(['start-runbook', '--help'], env());
    expect(result.code).toBe(0);
    for (const option of [
      '--tenant',
      '--all-tenants',
      '--reason',
      '--confirm',
      '--idempotency-key',
      '--preflight',
      '--preflight-only',
      '--batch-size',
      '--batch-target',
      '--wait',
      '--json',
    ]) {
      expect(result.stdout).toContain(option);
    }
  });
});
