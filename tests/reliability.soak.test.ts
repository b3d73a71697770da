// A soak for leaks: one worker, as production runs it (compiled, prebuilt workflow bundle), takes
// 3 all-tenants runs and 20 single-tenant runs one after another. What it keeps resident after
// the last run is within 20 % of what it kept after the first, which warmed every path.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';
import type { ScopeInput } from '../src/runbooks/scope.js';
import { buildWorker, workerCommand } from '../src/temporal/workerBuild.js';
import { LIFECYCLE, useRunbookHarness } from './support/harness.js';
import { waitForRun } from './support/runs.js';
import { undoRebuilds } from './support/slowBatches.js';
import { until } from './support/until.js';

const TENANTS = 10;

/** Resident memory of a process, in MiB. */
function residentMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('VmRSS:'));
  return Number(line?.replace(/\D+/g, '') ?? 0) / 1024;
}

describe('a worker through 23 runs', () => {
  const h = useRunbookHarness({ seed: { tenants: TENANTS, findingsPerTenant: 400, seed: 53 }, worker: false });
  let worker: ChildProcess;
  let output = '';

  beforeAll(async () => {
    const command = workerCommand(await buildWorker());
    worker = spawn(command.command, command.args, {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        ...command.env,
        DATABASE_URL: h.database.url,
        TEMPORAL_ADDRESS: h.config.temporal.address,
        TEMPORAL_TASK_QUEUE: h.config.temporal.taskQueue,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    worker.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await until(
      async () => output,
      (text) => text.includes('polling task queue'),
      'the worker to poll',
    );
  });
  afterAll(() => {
    worker?.kill('SIGKILL');
  });

  it('keeps its resident memory after the last run within 20 % of what it kept after the first', async () => {
    const run = async (scope: ScopeInput) => {
      await undoRebuilds(h.database.pool);
      const { run: started } = await h.start(scope, { runbook: LIFECYCLE });
      expect(await waitForRun(h.database.pool, started.id)).toMatchObject({ outcome: 'succeeded' });
    };
    await run({ kind: 'all_tenants' });
    const afterFirst = residentMiB(worker.pid!);
    for (let i = 0; i < 20; i++) {
      await run({ kind: 'tenants', externalIds: [`tenant-${String((i % TENANTS) + 1).padStart(5, '0')}`] });
      if (i % 10 === 9) await run({ kind: 'all_tenants' });
    }
    const afterLast = residentMiB(worker.pid!);
    process.stdout.write(
      `[soak] worker RSS ${afterFirst.toFixed(0)} MiB after the first of 23 runs, ${afterLast.toFixed(0)} MiB after the last\n`,
    );
    expect(afterLast).toBeLessThanOrEqual(afterFirst * 1.2);
  });
});
