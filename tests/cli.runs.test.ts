import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { getRun } from '../src/runbooks/runs.js';
import { runCli, spawnCli } from './support/cli.js';
import { LIFECYCLE, useRunbookHarness } from './support/harness.js';
import { until } from './support/until.js';

const literally = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('tsx src/cli runs follow / list', () => {
  const h = useRunbookHarness({ seed: { tenants: 3, findingsPerTenant: 20, seed: 37 } });
  const env = () => ({
    DATABASE_URL: h.database.url,
    TEMPORAL_ADDRESS: h.config.temporal.address,
    TEMPORAL_TASK_QUEUE: h.config.temporal.taskQueue,
  });

  it('follows a paused run by saying so once, with how to resume it, then only what changes', async () => {
    const { run } = await h.start({ kind: 'all_tenants' }, { runbook: LIFECYCLE, guards: { canary: { count: 1 } } });
    await until(
      () => getRun(h.database.pool, run.id),
      (seen) => seen?.pausedAt != null,
      'the run to pause itself after its canary',
    );
    const hint = new RegExp(
      `paused since \\S+ by .* \\(canary done: 1 succeeded, 0 failed\\); ` +
        literally(`resume with: npm run cli -- runs resume ${run.id} --reason "<why>"`),
    );
    expect((await runCli(['runs', 'show', run.id], env())).stdout).toMatch(hint);

    const follow = spawnCli(['runs', 'follow', run.id], env());
    try {
      await follow.waitForStderr(hint);
      // Not a condition to wait for but the absence of one: the follower used to repeat the paused
      // line every 5 s, so it follows the unchanging pause for longer than that.
      await sleep(6_000);
      const resumed = await runCli(['runs', 'resume', run.id, '--reason', 'The canary tenant looks right'], env());
      expect(resumed.code, resumed.stderr).toBe(0);
    } catch (error) {
      follow.kill();
      throw error;
    }
    const { code, stdout, stderr } = await follow.exited;
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(new RegExp(`^${run.id} Completed \\(succeeded\\): 3/3 tenants`));
    const lines = stderr.trimEnd().split('\n');
    expect(lines.filter((line) => line.includes('Paused by'))).toEqual([
      expect.stringMatching(/^\[#{10}\.{20}\] {2}33% Paused by .*: 1\/3 tenants; /),
    ]);
    expect(lines.filter((line) => line.includes('resume with:'))).toEqual([
      expect.stringMatching(new RegExp(`^Run ${run.id} is ${hint.source}$`)),
    ]);
    // No line says what the one before it said.
    expect(lines.filter((line, i) => line === lines[i - 1])).toEqual([]);
  });

  it('lists runs under a header, in aligned columns', async () => {
    const result = await runCli(['runs', 'list'], env());
    expect(result.code, result.stderr).toBe(0);
    const [header, ...rows] = result.stdout.trimEnd().split('\n');
    expect(header!.split(/\s+/)).toEqual(['ID', 'CREATED', 'STATUS', 'OUTCOME', 'RUNBOOK', 'SCOPE']);
    expect(rows.length).toBeGreaterThan(0);
    for (const column of ['CREATED', 'STATUS', 'OUTCOME', 'RUNBOOK', 'SCOPE']) {
      const at = header!.indexOf(column);
      for (const row of rows) expect(row[at - 1], `${column} of ${row}`).toBe(' ');
      for (const row of rows) expect(row[at], `${column} of ${row}`).not.toBe(' ');
    }
    expect(rows[0]).toMatch(/ completed +succeeded +findings\.lifecycle\.rebuild +all tenants$/);
  });

  it('filters by every phase and outcome the console does', async () => {
    const succeeded = await runCli(['runs', 'list', '--status', 'succeeded'], env());
    expect(succeeded.code, succeeded.stderr).toBe(0);
    expect(succeeded.stdout).toMatch(/ completed +succeeded /);
    const paused = await runCli(['runs', 'list', '--status', 'paused'], env());
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout.trim()).toBe('No runs.');
    const wrong = await runCli(['runs', 'list', '--status', 'stuck'], env());
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(
      'expected one of queued, running, held, paused, cancelling, completed, succeeded, partially_succeeded, failed, cancelled.',
    );
  });
});
