// `npm run bench`: the runbook against the physical limit and a naive peer, in one run on one
// machine (issue 10). What each figure means: bench/README.md. Progress goes to stderr; the
// table (or, with --json-only, the JSON) to stdout; the JSON also to bench/results/.
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Command, CommanderError } from 'commander';
import { wholeNumber } from '../src/cli/options.js';
import { loadConfig, type Config } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';
import { ensureTemporalCli } from '../src/dev/temporalCli.js';
import { runEntryPoint } from '../src/entryPoint.js';
import { SEED_LIMITS } from '../src/seed/limits.js';
import { connectTemporal } from '../src/temporal/connection.js';
import { formatCliFigures, measureCli } from './cli.js';
import { measureConsoleLoad } from './consoleLoad.js';
import { BenchDatabases, type Dataset } from './databases.js';
import { measureNaivePeer } from './naivePeer.js';
import { measureTinyRun } from './orchestration.js';
import { assertSameFindings, measureMachineLimit, measurePhysicalLimit } from './physicalLimit.js';
import { measurePreflight } from './preflight.js';
import { spawnWorker, startBenchServer, type BenchServer, type WorkerProcess } from './processes.js';
import { round } from './profile.js';
import {
  datasetOf,
  formatResults,
  machineFacts,
  mebibytesToMegabytes,
  targetsOf,
  writeResults,
  writeResultsFile,
  type BenchResults,
} from './report.js';
import { measureRunbookRun } from './runbookRun.js';
import {
  gatesCostOf,
  gatesOff,
  otherSizing,
  runAgain,
  sizingFiguresOf,
  sizingOf,
  TUNED_BATCH_SIZE,
} from './runAgain.js';
import { scaleOutFigures } from './scaleOut.js';
import { measureServerCeiling } from './serverCeiling.js';

/** The sizes of one bench: the (full) and a smoke run's (--quick). */
interface Sizes {
  tenants: number;
  findingsPerTenant: number;
  naiveFindings: number;
  tinyTenants: number;
  scaleOutContinueAsNewAfter: number;
  consoleRuns: number;
  consoleSeconds: number;
}

const FULL: Sizes = {
  tenants: 200,
  findingsPerTenant: 5_000,
  naiveFindings: 20_000,
  tinyTenants: 1_000,
  scaleOutContinueAsNewAfter: 100,
  consoleRuns: 10_000,
  consoleSeconds: 10,
};

// Small enough to finish in well under two minutes, large enough that every measurement does
// what it does at full size: several batches per tenant, several continuations of the parent.
const QUICK: Sizes = {
  tenants: 8,
  findingsPerTenant: 2_500,
  naiveFindings: 1_000,
  tinyTenants: 40,
  scaleOutContinueAsNewAfter: 10,
  consoleRuns: 500,
  consoleSeconds: 2,
};

const TINY_FINDINGS_PER_TENANT = 10;
const SEED = 1;
const CONSOLE_CONNECTIONS = 50;
const REASON = 'Benchmark: all-tenants rebuild (npm run bench)';

interface Options {
  sizes: Sizes;
  quick: boolean;
  jsonOnly: boolean;
  cli: boolean;
}

function parseOptions(argv: string[]): Options | null {
  const program = new Command('npm run bench --')
    .description(
      'Measures the Rebuild Findings Lifecycle runbook against one set-based statement (the physical limit), a naive per-row peer, ' +
        "its preflight, orchestration over 1,000 tiny tenants (in-memory and file-backed dev server, one and two workers) against the server's ceiling " +
        '(as many empty child workflows), and the console under load against its cheapest page. ' +
        'Needs PostgreSQL on 127.0.0.1:5432 (BENCH_DATABASE_URL names another server); starts its own Temporal dev servers and workers.',
    )
    .option(
      '--tenants <n>',
      `tenants of the main dataset (default ${FULL.tenants})`,
      wholeNumber(1, SEED_LIMITS.maxTenants),
    )
    .option(
      '--findings-per-tenant <n>',
      `findings per tenant (default ${FULL.findingsPerTenant})`,
      wholeNumber(1, SEED_LIMITS.maxFindingsPerTenant),
    )
    .option(
      '--quick',
      `a small dataset for a smoke run (${QUICK.tenants} × ${QUICK.findingsPerTenant}, ${QUICK.tinyTenants} tiny tenants, short console load)`,
    )
    .option('--json-only', 'print only the results JSON on stdout (progress still goes to stderr)')
    .option(
      '--cli',
      "measure only the CLI's start-up: --help, runs list, runs show and a preflight (tsx, compiled, npm run cli), and the deploy hook",
    )
    .addHelpText(
      'after',
      '\nThe dataset is seeded once into a template database per parameters and copied for every measurement; see bench/README.md.',
    )
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  try {
    program.parse(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return null;
    }
    throw error;
  }
  const values = program.opts<{
    tenants?: number;
    findingsPerTenant?: number;
    quick?: boolean;
    jsonOnly?: boolean;
    cli?: boolean;
  }>();
  const base = values.quick ? QUICK : FULL;
  const sizes = {
    ...base,
    tenants: values.tenants ?? base.tenants,
    findingsPerTenant: values.findingsPerTenant ?? base.findingsPerTenant,
  };
  if (sizes.tenants * sizes.findingsPerTenant > SEED_LIMITS.maxTotalFindings) {
    program.error(
      `--tenants × --findings-per-tenant must be at most ${SEED_LIMITS.maxTotalFindings.toLocaleString('en-US')}`,
      { exitCode: 2 },
    );
  }
  return { sizes, quick: Boolean(values.quick), jsonOnly: Boolean(values.jsonOnly), cli: Boolean(values.cli) };
}

const say = (line: string) => process.stderr.write(`${line}\n`);

runEntryPoint(async () => {
  const options = parseOptions(process.argv.slice(2));
  if (!options) return;
  const { sizes } = options;
  const began = performance.now();
  const serverUrl = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const dir = await mkdtemp(join(tmpdir(), 'platform-ops-bench-'));
  const databases = new BenchDatabases(serverUrl, say);
  const servers: BenchServer[] = [];
  const workers: WorkerProcess[] = [];
  const stopConsole = new AbortController();

  // Once, however the bench ends (Ctrl-C reaches it from the terminal and again from tsx).
  let cleaning: Promise<void> | null = null;
  const cleanUp = () =>
    (cleaning ??= (async () => {
      stopConsole.abort();
      await Promise.allSettled(workers.map((worker) => worker.stop()));
      await Promise.allSettled(servers.map((server) => server.stop()));
      await databases.dropAll();
      await rm(dir, { recursive: true, force: true });
    })());
  const interrupted = () => {
    if (cleaning) return;
    say('stopped; dropping the scratch databases and stopping the servers and workers');
    void cleanUp().finally(() => process.exit(130));
  };
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);

  try {
    await databases.dropAbandoned();
    const binary = await ensureTemporalCli();
    if (options.cli) {
      say('the CLI: a dev server, a worker, and a copy of the quick dataset with 50 runs added...');
      const server = await startBenchServer(binary, dir, 'in-memory');
      servers.push(server);
      const dataset = { tenants: QUICK.tenants, findingsPerTenant: QUICK.findingsPerTenant, seed: SEED };
      const url = await databases.copy((await databases.ensureTemplate(dataset)).name, 'cli');
      const worker = spawnWorker({ name: 'worker-cli', dir, databaseUrl: url, server });
      workers.push(worker);
      await worker.ready;
      const database = openDatabase(url, { max: 2 });
      try {
        const date = new Date().toISOString();
        const cli = await measureCli({ pool: database.pool, databaseUrl: url, temporal: server, say });
        const results = { date, machine: machineFacts(await databases.serverVersion(), binary), cli };
        const written = writeResultsFile(`${date.replace(/[:.]/g, '-')}_cli.json`, results);
        process.stdout.write(
          options.jsonOnly ? `${JSON.stringify(results, null, 2)}\n` : `\n${formatCliFigures(cli)}\n`,
        );
        say(`results: ${written.startsWith(PROJECT_ROOT) ? relative(PROJECT_ROOT, written) : written}`);
      } finally {
        await database.close();
      }
      return;
    }
    const dataset: Dataset = { tenants: sizes.tenants, findingsPerTenant: sizes.findingsPerTenant, seed: SEED };
    const tinyDataset: Dataset = {
      tenants: sizes.tinyTenants,
      findingsPerTenant: TINY_FINDINGS_PER_TENANT,
      seed: SEED,
    };
    say('starting the Temporal dev servers (in memory, and file-backed in a temporary folder)...');
    // Both settle before either is used, so that a failing one leaves no other running untracked.
    const started = await Promise.allSettled([
      startBenchServer(binary, dir, 'in-memory'),
      startBenchServer(binary, dir, 'file-backed'),
    ]);
    for (const result of started) if (result.status === 'fulfilled') servers.push(result.value);
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    const [memory, file] = servers as [BenchServer, BenchServer];
    const main = await databases.ensureTemplate(dataset);
    const tiny = await databases.ensureTemplate(tinyDataset);
    const machine = machineFacts(await databases.serverVersion(), binary);

    // Every run goes through one database name, a fresh copy each time, so the workers started
    // here serve them all; worker-1 (in-memory server) is fresh for item 2, whose memory it reports.
    const runbookUrl = await databases.copy(main.name, 'runbook');
    const runbookDatabase = new URL(runbookUrl).pathname.slice(1);
    say('building the worker once, then starting workers...');
    const worker1 = spawnWorker({ name: 'worker-1', dir, databaseUrl: runbookUrl, server: memory });
    const worker2 = spawnWorker({ name: 'worker-2', dir, databaseUrl: runbookUrl, server: file });
    workers.push(worker1, worker2);
    await Promise.all([worker1.ready, worker2.ready]);

    say('1. physical limit: one statement over every finding, on a fresh copy...');
    const physicalUrl = await databases.copy(main.name, 'physical');
    const physical = await measurePhysicalLimit(physicalUrl, {
      serverUrl,
      database: new URL(physicalUrl).pathname.slice(1),
    });
    say(
      `   ${physical.seconds} s, ${physical.changed.toLocaleString('en-US')} of ${physical.examined.toLocaleString('en-US')} findings changed`,
    );
    const ways = availableParallelism();
    say(`1b. the machine's limit: ${ways} statements at once over tenant_id % ${ways}, on a fresh copy...`);
    const machineUrl = await databases.copy(main.name, 'machine');
    const machineLimit = await measureMachineLimit(machineUrl, ways, physical.examined);
    const machineDatabase = openDatabase(machineUrl, { max: 1 });
    try {
      await assertSameFindings(machineDatabase.pool, physicalUrl, {
        here: "machine's limit",
        there: 'physical-limit statement',
      });
    } finally {
      await machineDatabase.close();
    }
    await databases.drop('machine');
    say(`   ${machineLimit.seconds} s`);

    say('4. preflight, and 2. the all-tenants run through the starter, on another fresh copy...');
    await databases.settle();
    const database = openDatabase(runbookUrl);
    const config = loadConfig({ ...process.env, DATABASE_URL: runbookUrl, TEMPORAL_ADDRESS: memory.address });
    const temporal = await connectTemporal(config.temporal);
    let runbook: Omit<BenchResults['runbook'], 'ratioToMachine' | 'gates' | 'sizing'>;
    let preflightFigures: BenchResults['preflight'];
    try {
      const measured = await measurePreflight(database.pool, REASON);
      preflightFigures = measured.figures;
      say(`   preflight ${preflightFigures.preflightSeconds} s, raw count ${preflightFigures.rawCount.seconds} s`);
      const figures = await measureRunbookRun({
        deps: { pool: database.pool, temporal, config },
        preflight: { saved: measured.preflight, figures: measured.figures },
        physical,
        worker: worker1,
        profileTarget: {
          serverUrl,
          database: runbookDatabase,
          processes: { workers: [worker1.pid] },
          temporalPorts: [memory.port],
        },
        reason: REASON,
      });
      say(
        `   run ${figures.seconds} s (${figures.ratioToPhysical}× the statement); comparing with the statement's copy...`,
      );
      const identical = await assertSameFindings(database.pool, physicalUrl, {
        here: 'runbook run',
        there: 'physical-limit statement',
      });
      runbook = { ...figures, identicalToPhysical: identical };
    } finally {
      await temporal.connection.close();
      await database.close();
    }
    await databases.drop('physical');

    say(`3. naive peer over ${sizes.naiveFindings.toLocaleString('en-US')} findings, on a third fresh copy...`);
    const naiveUrl = await databases.copy(main.name, 'naive');
    const naive = await measureNaivePeer(naiveUrl, sizes.naiveFindings, {
      serverUrl,
      database: new URL(naiveUrl).pathname.slice(1),
    });
    const naiveDatabase = openDatabase(naiveUrl, { max: 1 });
    let naiveIdentical: { rowsCompared: number };
    try {
      naiveIdentical = await assertSameFindings(
        naiveDatabase.pool,
        runbookUrl,
        { here: 'naive peer', there: 'runbook run' },
        naive.range,
      );
    } finally {
      await naiveDatabase.close();
    }
    await databases.drop('naive');
    say(`   ${naive.findingsPerSecond.toLocaleString('en-US')} findings/s`);

    // Items 2b and 2c: item 2's run again, each time on a fresh copy at the workers' URL.
    const again = async (changed: Config) => {
      await databases.copy(main.name, 'runbook');
      return runAgain({ url: runbookUrl, config: changed, reason: REASON });
    };
    // Item 2's own run came before the naive peer, under other load: each ratio below compares two
    // runs back to back instead. 2b: the gates off, then item 2's run again with them on; 2c: that
    // run against the other sizing, right after it. Item 2's own time is only reported.
    say('2b. the run again with the health gates off, then with them on, back to back on fresh copies...');
    const offSeconds = (await again(gatesOff(config))).seconds;
    say(`   ${offSeconds} s without the gates; item 2's run again, with them...`);
    const same = await again(config);
    const gates = gatesCostOf(same.seconds, offSeconds);
    say(`   ${same.seconds} s with the gates (item 2: ${runbook.seconds} s): they cost ${gates.cost}×`);

    const item2Kind = sizingOf(config);
    const otherConfig = otherSizing(config);
    const fixedLabel = `a fixed batch of ${TUNED_BATCH_SIZE.toLocaleString('en-US')} rows (the constant earlier full runs were tuned with)`;
    say(
      `2c. batch sizing: ${item2Kind === 'auto' ? fixedLabel : 'auto (the default target)'}, right after 2b's ${item2Kind} run...`,
    );
    const other = await again(otherConfig);
    const sizing = sizingFiguresOf(
      { config, seconds: runbook.seconds },
      [
        { config, seconds: same.seconds, run: same.run, items: same.sizing },
        { config: otherConfig, seconds: other.seconds, run: other.run, items: other.sizing },
      ],
      physical.seconds,
    );
    say(
      `   auto ${sizing.auto.seconds} s (final size ${sizing.auto.finalSize.toLocaleString('en-US')}), fixed ${sizing.fixed.seconds} s: auto / fixed ${sizing.autoOverFixed}`,
    );

    const tinyRun = (server: BenchServer, runWorkers: WorkerProcess[], settings = {}) =>
      measureTinyRun({
        databases,
        template: tiny.name,
        role: 'runbook',
        server,
        workers: runWorkers,
        settings,
        serverUrl,
      });
    say(
      `5. orchestration over ${sizes.tinyTenants.toLocaleString('en-US')} tiny tenants: in-memory, then file-backed dev server...`,
    );
    const inMemory = await tinyRun(memory, [worker1]);
    const fileBacked = await tinyRun(file, [worker2]);
    say(
      `   ${inMemory.tenantsPerSecond} and ${fileBacked.tenantsPerSecond} tenants/s; the file-backed server's ceiling: as many empty children...`,
    );
    const serverCeiling = await measureServerCeiling(file, {
      children: sizes.tinyTenants,
      childParallelism: fileBacked.childParallelism,
    });
    say(`   ${serverCeiling.childrenPerSecond} children/s`);

    const scaleOutSettings = { continueAsNewAfter: sizes.scaleOutContinueAsNewAfter };
    say(`6. scale-out (file-backed, continue-as-new at ${sizes.scaleOutContinueAsNewAfter}): one worker, then two...`);
    const oneWorker = await tinyRun(file, [worker2], scaleOutSettings);
    const worker3 = spawnWorker({ name: 'worker-3', dir, databaseUrl: runbookUrl, server: file });
    workers.push(worker3);
    await worker3.ready;
    const twoWorkers = await tinyRun(file, [worker2, worker3], scaleOutSettings);
    const scaleOut = scaleOutFigures(oneWorker, twoWorkers, [
      { name: 'worker-2', process: worker2 },
      { name: 'worker-3', process: worker3 },
    ]);
    say(`   ${oneWorker.tenantsPerSecond} and ${twoWorkers.tenantsPerSecond} tenants/s`);
    await Promise.all(workers.map((worker) => worker.stop()));
    await databases.drop('runbook');

    say(
      `8. console under load: ${sizes.consoleRuns.toLocaleString('en-US')} runs, ${CONSOLE_CONNECTIONS} connections, ${sizes.consoleSeconds} s per URL...`,
    );
    const consoleFigures = await measureConsoleLoad(
      {
        runs: sizes.consoleRuns,
        connections: CONSOLE_CONNECTIONS,
        durationSeconds: sizes.consoleSeconds,
        logFile: join(dir, 'console-load.log'),
        serverUrl,
      },
      stopConsole.signal,
    );

    const partial: Omit<BenchResults, 'targets'> = {
      date: new Date().toISOString(),
      quick: options.quick,
      durationSeconds: round((performance.now() - began) / 1000, 1),
      machine,
      dataset: datasetOf(dataset, main),
      physicalLimit: physical,
      machineLimit,
      runbook: { ...runbook, ratioToMachine: round(runbook.seconds / machineLimit.seconds), gates, sizing },
      naivePeer: {
        ...naive,
        runbookSpeedup: round(runbook.findingsPerSecond / naive.findingsPerSecond, 1),
        identicalToRunbook: naiveIdentical,
      },
      preflight: preflightFigures,
      orchestration: {
        tenants: sizes.tinyTenants,
        findingsPerTenant: TINY_FINDINGS_PER_TENANT,
        inMemory,
        fileBacked,
        serverCeiling,
        shareOfCeiling: round(fileBacked.tenantsPerSecond / serverCeiling.childrenPerSecond),
      },
      scaleOut,
      memory: {
        runbookWorkerPeakRssMiB: runbook.workerMemoryMiB.peak,
        runbookWorkerPeakRssMB: mebibytesToMegabytes(runbook.workerMemoryMiB.peak),
        runbookWorkerPeakAtReadyMiB: runbook.workerMemoryMiB.peakAtReady,
        runbookWorkerRssAfterRunMiB: runbook.workerMemoryMiB.afterRun,
        scaleOutWorkersPeakRssMiB: scaleOut.byWorker.map((worker) => worker.peakRssMiB),
      },
      console: consoleFigures,
    };
    const results: BenchResults = { ...partial, targets: targetsOf(partial) };
    const written = writeResults(results);
    process.stdout.write(options.jsonOnly ? `${JSON.stringify(results, null, 2)}\n` : `\n${formatResults(results)}\n`);
    const shown = written.startsWith(PROJECT_ROOT) ? relative(PROJECT_ROOT, written) : written;
    say(`results: ${shown} (${results.durationSeconds} s in all)`);
  } finally {
    await cleanUp();
  }
});
