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
import { generatePassword } from '../auth/passwords.js';
import { countPlatformUsers, createPlatformUser } from '../auth/platformUsers.js';
import { ALL_CAPABILITIES } from '../runbooks/capabilities.js';
import { seedDemoData } from '../seed/seedDemoData.js';
import { connectTemporal, pingTemporal } from '../temporal/connection.js';
import { startDevServer, type RunningDevServer } from './devServer.js';
import { devServerArgs, loadDevServerConfig } from './devServerConfig.js';
import { PROJECT_ROOT } from './projectRoot.js';
import { ensureTemporalCli } from './temporalCli.js';

const DEMO = { tenants: 20, findingsPerTenant: 1_000, seed: 1 };
const DEMO_OPERATOR_EMAIL = 'operator@example.com';
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

/** The demo sign-in, when this start created the demo operator (its password is shown once). */
type DemoSignIn = { email: string; password: string } | null;

async function prepareDatabase(databaseUrl: string): Promise<DemoSignIn> {
  const migration = await migrateDatabase(databaseUrl);
  say(`Database ${describeDatabaseUrl(databaseUrl)}: ${migration.applied} migration(s) applied.`);
  const database = openDatabase(databaseUrl, { max: 2 });
  try {
    const { rows } = await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM tenants');
    if (rows[0]?.n === 0) {
      say(`Empty database: seeding ${DEMO.tenants} demo tenants x ${DEMO.findingsPerTenant} findings...`);
      await seedDemoData(database.pool, DEMO);
    }
    // Only a database without any operator gets the demo one, so a restart never adds another.
    if ((await countPlatformUsers(database.pool)) > 0) return null;
    const password = generatePassword();
    await createPlatformUser(database.pool, { email: DEMO_OPERATOR_EMAIL, password, capabilities: ALL_CAPABILITIES });
    return { email: DEMO_OPERATOR_EMAIL, password };
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
  const demo = await prepareDatabase(config.databaseUrl);
  const children = [
    startChild('worker', 'src/cli/index.ts', ['worker']),
    startChild('console', 'src/web/server.ts', []),
  ];
  say(`Console at http://${config.host}:${config.port}/system/login (health: /healthz). Ctrl-C stops everything.`);
  if (demo) {
    say(`Demo operator (every capability): ${demo.email} / ${demo.password} — shown once; create others with "npm run cli -- platform-user create".`);
  }

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
