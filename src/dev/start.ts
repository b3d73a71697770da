// `npm start`: the whole product on one machine with local defaults — the Temporal dev server
// from temporal-dev.yaml, the migrated (and, when empty, seeded) database, the worker and the
// console — and a clean stop of every child on Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/client.js';
import { describeDatabaseUrl } from '../db/describeUrl.js';
import { migrateDatabase } from '../db/migrate.js';
import { runEntryPoint } from '../entryPoint.js';
import { seedDemoData } from '../seed/seedDemoData.js';
import { connectTemporal, pingTemporal } from '../temporal/connection.js';
import { startDevServer, type RunningDevServer } from './devServer.js';
import { devServerArgs, loadDevServerConfig } from './devServerConfig.js';
import { PROJECT_ROOT } from './projectRoot.js';
import { ensureTemporalCli } from './temporalCli.js';

const DEMO = { tenants: 20, findingsPerTenant: 1_000, seed: 1 };
const say = (line: string) => process.stdout.write(`[start] ${line}\n`);

async function temporalAnswers(config: ReturnType<typeof loadConfig>): Promise<boolean> {
  try {
    const client = await connectTemporal(config.temporal, 1_000);
    try {
      await pingTemporal(client);
      return true;
    } finally {
      await client.connection.close();
    }
  } catch {
    return false;
  }
}

async function startTemporal(config: ReturnType<typeof loadConfig>): Promise<RunningDevServer | null> {
  if (await temporalAnswers(config)) {
    say(`Temporal already answers at ${config.temporal.address}; using it.`);
    return null;
  }
  const devConfig = loadDevServerConfig(join(PROJECT_ROOT, 'temporal-dev.yaml'));
  const address = `${devConfig.ip}:${devConfig.port}`;
  if (address !== config.temporal.address) {
    say(`TEMPORAL_ADDRESS=${config.temporal.address} does not answer and is not the dev server's ${address}.`);
  }
  const binary = await ensureTemporalCli({ log: say });
  const logFile = join(PROJECT_ROOT, '.data', 'temporal', 'server.log');
  say(`Starting the Temporal dev server (log: ${logFile})...`);
  const server = await startDevServer({
    binary,
    args: devServerArgs(devConfig, { projectRoot: PROJECT_ROOT }),
    address,
    namespace: devConfig.namespace,
    logFile,
  });
  say(`Temporal at ${address}, Web UI at http://${devConfig.ip}:${devConfig.uiPort}`);
  return server;
}

async function prepareDatabase(databaseUrl: string): Promise<void> {
  const migration = await migrateDatabase(databaseUrl);
  say(`Database ${describeDatabaseUrl(databaseUrl)}: ${migration.applied} migration(s) applied.`);
  const database = openDatabase(databaseUrl, { max: 2 });
  try {
    const { rows } = await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM tenants');
    if (rows[0]?.n === 0) {
      say(`Empty database: seeding ${DEMO.tenants} demo tenants x ${DEMO.findingsPerTenant} findings...`);
      await seedDemoData(database.pool, DEMO);
    }
  } finally {
    await database.close();
  }
}

function startChild(name: string, script: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, script), ...args], {
    stdio: 'inherit',
    env: process.env,
  });
  child.on('exit', (code, signal) => say(`${name} exited (${signal ?? `code ${code}`}).`));
  return child;
}

runEntryPoint(async () => {
  const config = loadConfig();
  const temporal = await startTemporal(config);
  await prepareDatabase(config.databaseUrl);
  const children = [
    startChild('worker', 'src/cli/index.ts', ['worker']),
    startChild('console', 'src/web/server.ts', []),
  ];
  say(`Console at http://${config.host}:${config.port} (health: /healthz). Ctrl-C stops everything.`);

  let stopping = false;
  const stop = async (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    say('Stopping...');
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    await temporal?.stop();
    say('Stopped.');
    process.exit(exitCode);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  // One part dying takes the whole stack down rather than leaving it half-working.
  for (const child of children) child.on('exit', () => void stop(1));
});
