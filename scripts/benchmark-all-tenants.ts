// Benchmark: seed N tenants x M findings into a throwaway database, then run an all-tenants
// Rebuild Findings Lifecycle through the real starter, a real worker process and an in-memory
// Temporal dev server. Prints seed time, run wall time, findings changed per second and the
// worker's peak memory. Usage: tsx scripts/benchmark-all-tenants.ts [tenants] [findingsPerTenant]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { dropDatabase, migrateDatabase } from '../src/db/migrate.js';
import { startEphemeralDevServer } from '../src/dev/devServer.js';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';
import { ensureTemporalCli } from '../src/dev/temporalCli.js';
import { runEntryPoint } from '../src/entryPoint.js';
import { runPreflight } from '../src/runbooks/preflight.js';
import { getRunbook } from '../src/runbooks/registry.js';
import { getRun } from '../src/runbooks/runs.js';
import { startRunbook } from '../src/runbooks/start.js';
import { ALL_TENANTS_PHRASE } from '../src/runbooks/validateStart.js';
import { seedDemoData } from '../src/seed/seedDemoData.js';
import { connectTemporal } from '../src/temporal/connection.js';

/** Peak resident memory of a live process, in MiB (Linux). */
function peakRssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  return Math.round(Number(line?.replace(/\D+/g, '') ?? 0) / 1024);
}

runEntryPoint(async () => {
  const tenants = Number(process.argv[2] ?? 200);
  const findingsPerTenant = Number(process.argv[3] ?? 5000);
  const url = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/platform_ops_bench';
  await dropDatabase(url);
  await migrateDatabase(url);
  const database = openDatabase(url);
  const server = await startEphemeralDevServer(await ensureTemporalCli(), join(tmpdir(), 'platform-ops-bench-temporal.log'));
  const config = loadConfig({ ...process.env, DATABASE_URL: url, TEMPORAL_ADDRESS: server.address });
  const worker = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'src/cli/index.ts'), 'worker'], {
    env: { ...process.env, DATABASE_URL: url, TEMPORAL_ADDRESS: server.address },
    stdio: 'ignore',
  });
  const temporal = await connectTemporal(config.temporal);
  try {
    const seed = await seedDemoData(database.pool, { tenants, findingsPerTenant, seed: 1 });
    console.log(`seed: ${seed.findings.toLocaleString('en-US')} findings, ${seed.detections.toLocaleString('en-US')} detections, ${seed.events.toLocaleString('en-US')} events in ${(seed.ms / 1000).toFixed(1)} s`);

    const initiator = { kind: 'cli', label: 'benchmark' } as const;
    const scope = { kind: 'all_tenants' } as const;
    let started = performance.now();
    const preflight = await runPreflight(database.pool, { runbook: getRunbook('findings-lifecycle'), scope, initiator });
    console.log(`preflight: ${preflight.report.toChange.toLocaleString('en-US')} of ${preflight.report.inScope.toLocaleString('en-US')} findings to change, ${((performance.now() - started) / 1000).toFixed(1)} s`);

    started = performance.now();
    const { run } = await startRunbook(
      { pool: database.pool, temporal, config },
      { runbook: 'findings-lifecycle', scope, initiator, reason: 'Benchmark all-tenants rebuild', source: 'cli', confirmation: ALL_TENANTS_PHRASE, preflightId: preflight.id },
    );
    console.log(`start (validation, drift check, run row, workflow start): ${((performance.now() - started) / 1000).toFixed(2)} s`);
    let done = run;
    let firstBatchLogged = false;
    while (done.status !== 'completed') {
      await sleep(100);
      if (!firstBatchLogged) {
        const { rows } = await database.pool.query(
          `SELECT count(*)::int AS n FROM operation_run_items WHERE run_id = $1 AND (counts ->> 'batches')::int > 0`,
          [run.id],
        );
        if (rows[0].n > 0) {
          firstBatchLogged = true;
          console.log(`first batch committed: ${((performance.now() - started) / 1000).toFixed(2)} s after the start began`);
        }
      }
      done = (await getRun(database.pool, run.id))!;
    }
    const seconds = (performance.now() - started) / 1000;
    const changed = done.counts.changed ?? 0;
    console.log(`run: ${done.outcome}, ${done.counts.tenantsSucceeded}/${done.counts.tenants} tenants, ${changed.toLocaleString('en-US')} findings changed of ${(done.counts.examined ?? 0).toLocaleString('en-US')} in ${seconds.toFixed(1)} s`);
    console.log(`throughput: ${Math.round(changed / seconds).toLocaleString('en-US')} findings changed per second (batch ${config.rebuild.batchSize}, ${config.rebuild.childParallelism} tenants at once)`);
    console.log(`worker peak memory (VmHWM): ${peakRssMiB(worker.pid!)} MiB`);
  } finally {
    worker.kill('SIGTERM');
    await temporal.connection.close();
    await server.stop();
    await database.close();
    if (!process.env.BENCH_KEEP) await dropDatabase(url);
  }
});
