import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';
import { buildWorker, workerCommand } from '../src/temporal/workerBuild.js';
import { runCli } from './support/cli.js';
import { LIFECYCLE, useRunbookHarness } from './support/harness.js';
import { waitForRun } from './support/runs.js';

/** A worker process started as `command` with --json on the task queue of `env`, and what it logs. */
function spawnWorker(
  command: { command: string; args: string[]; env?: Record<string, string> },
  env: Record<string, string>,
) {
  const child = spawn(command.command, [...command.args, '--json'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...command.env, ...env },
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return {
    async polling(): Promise<void> {
      const deadline = Date.now() + 60_000;
      while (!stdout.includes(`polling task queue ${env.TEMPORAL_TASK_QUEUE}`)) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the worker did not poll: ${stdout}`);
        // Waits for a condition, the worker's log line, looking again every 100 ms: a child's stdout has no event for it.
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    /** SIGTERM, then its exit code and its log lines. */
    async stop(): Promise<{ code: number | null; lines: Array<Record<string, unknown>> }> {
      child.kill('SIGTERM');
      const code = await exit;
      return {
        code,
        lines: stdout
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line)),
      };
    },
  };
}

describe('tsx src/cli worker', () => {
  it('names the unreachable PostgreSQL, without the password', async () => {
    const result = await runCli(['worker'], { DATABASE_URL: 'postgres://ops:hunter2@127.0.0.1:1/ops' });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^error: Cannot reach PostgreSQL at 127\.0\.0\.1:1\/ops \(ECONNREFUSED\)/);
    expect(result.stderr).not.toContain('hunter2');
  });

  it('names the unreachable Temporal server', async () => {
    const result = await runCli(['worker'], {
      DATABASE_URL: inject('templateDatabaseUrl'),
      TEMPORAL_ADDRESS: '127.0.0.1:1',
    });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^error: Cannot reach Temporal at 127\.0\.0\.1:1 .*TEMPORAL_ADDRESS/);
  });

  it('refuses a workflow bundle that does not exist, and says how to build one', async () => {
    const result = await runCli(['worker', '--workflow-bundle', join(PROJECT_ROOT, 'no-such-bundle.js')], {
      DATABASE_URL: inject('templateDatabaseUrl'),
    });
    expect(result).toMatchObject({
      code: 2,
      stderr: `error: no workflow bundle at ${join(PROJECT_ROOT, 'no-such-bundle.js')}; build it with: npm run build\n`,
    });
  });

  it('bundles the workflow code itself without --workflow-bundle, logs JSON lines with --json and stops cleanly on SIGTERM', async () => {
    const worker = spawnWorker(
      { command: process.execPath, args: ['--import', 'tsx', join(PROJECT_ROOT, 'src/cli/index.ts'), 'worker'] },
      {
        DATABASE_URL: inject('templateDatabaseUrl'),
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TEMPORAL_TASK_QUEUE: 'cli-worker-test',
      },
    );
    await worker.polling();
    const { code, lines } = await worker.stop();
    expect(code).toBe(0);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'INFO',
        message: expect.stringContaining('polling task queue cli-worker-test'),
      }),
    );
  });
});

describe('the built worker (npm run build; as npm start and the bench start it)', () => {
  const h = useRunbookHarness({ seed: { tenants: 1, findingsPerTenant: 20, seed: 5 }, worker: false });

  it('runs a run from the compiled CLI and the prebuilt workflow bundle, and stops cleanly on SIGTERM', async () => {
    const command = workerCommand(await buildWorker());
    expect(command.args).toEqual(
      expect.arrayContaining([
        join(PROJECT_ROOT, 'dist/cli/index.js'),
        '--workflow-bundle',
        join(PROJECT_ROOT, 'dist/workflow-bundle.js'),
      ]),
    );
    const worker = spawnWorker(command, {
      DATABASE_URL: h.database.url,
      TEMPORAL_ADDRESS: h.config.temporal.address,
      TEMPORAL_TASK_QUEUE: h.config.temporal.taskQueue,
    });
    try {
      await worker.polling();
      // A catalog runbook: the compiled CLI's worker knows no other.
      const { run } = await h.start({ kind: 'tenants', externalIds: ['tenant-00001'] }, { runbook: LIFECYCLE });
      expect(await waitForRun(h.database.pool, run.id)).toMatchObject({ status: 'completed', outcome: 'succeeded' });
    } finally {
      const { code } = await worker.stop();
      expect(code).toBe(0);
    }
  });
});
