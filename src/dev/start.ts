// `npm start`: the whole product on one machine with local defaults — the Temporal dev server
// from temporal-dev.yaml, the migrated (and, when empty, seeded) database, the worker (built here
// first, and started as in production) and the console — and a clean stop of every child on Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../config.js';
import { openDatabase } from '../db/client.js';
import { describeDatabaseUrl } from '../db/describeUrl.js';
import { migrateDatabase } from '../db/migrate.js';
import { runEntryPoint } from '../entryPoint.js';
import { firstLine, UsageError } from '../errors.js';
import { generatePassword } from '../auth/passwords.js';
import { countCustomerUsers, createCustomerUser } from '../auth/customerUsers.js';
import { countPlatformUsers, createPlatformUser } from '../auth/platformUsers.js';
import type { Queryable } from '../db/queryable.js';
import { PLATFORM_TENANT_EXTERNAL_ID } from '../db/schema/tenancy.js';
import { ALL_CAPABILITIES } from '../runbooks/capabilities.js';
import { seedDemoData } from '../seed/seedDemoData.js';
import { connectTemporal, pingTemporal } from '../temporal/connection.js';
import { buildWorker, workerCommand } from '../temporal/workerBuild.js';
import { rankOf, readableLine, teeLines, terminalThreshold } from './childLogs.js';
import { startDevServer, type RunningDevServer } from './devServer.js';
import { devServerArgs, loadDevServerConfig } from './devServerConfig.js';
import { startEmbeddedPostgres } from './embeddedPostgres.js';
import { chooseLocalPostgres, EMBEDDED_POSTGRES_DIR, type LocalPostgres } from './localPostgres.js';
import { PROJECT_ROOT } from './projectRoot.js';
import { untilReady } from './ready.js';
import { ensureTemporalCli } from './temporalCli.js';

const DEMO = { tenants: 20, findingsPerTenant: 1_000, seed: 1 };
const DEMO_OPERATOR_EMAIL = 'operator@example.com';
/** A second operator, so that the demo shows a change request approved by someone else than its requester. */
const DEMO_APPROVER_EMAIL = 'approver@example.com';
const DEMO_CUSTOMER_EMAIL = 'customer@example.com';
/**
 * Where the console's log goes unless LOG_FILE says otherwise: its two lines a request, every second
 * for each open run page, would bury the terminal. The worker's and the dev server's logs go beside it.
 */
const CONSOLE_LOG = join(PROJECT_ROOT, '.data', 'logs', 'console.log');
const say = (line: string) => process.stdout.write(`[start] ${line}\n`);
/** Set by Ctrl-C (or a child's end): from then on, what the children print on their way out is no news. */
let stopping = false;

/** Where the children's logs go: files in `dir`, and to the terminal their lines from `threshold` up (childLogs.ts). */
interface Logs {
  dir: string;
  threshold: number;
}

async function temporalAnswers(config: Config): Promise<boolean> {
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

async function startTemporal(config: Config, logs: Logs): Promise<RunningDevServer | null> {
  // The banner says so: its Ready line names the Temporal it found.
  if (await temporalAnswers(config)) return null;
  const devConfig = loadDevServerConfig(join(PROJECT_ROOT, 'temporal-dev.yaml'));
  const address = `${devConfig.ip}:${devConfig.port}`;
  if (address !== config.temporal.address) {
    say(`TEMPORAL_ADDRESS=${config.temporal.address} does not answer and is not the dev server's ${address}.`);
  }
  const binary = await ensureTemporalCli({ log: say });
  // The folder of its file store, which the server does not create.
  mkdirSync(dirname(resolve(PROJECT_ROOT, devConfig.dbFilename)), { recursive: true });
  return startDevServer({
    binary,
    args: devServerArgs(devConfig, { projectRoot: PROJECT_ROOT }),
    address,
    namespace: devConfig.namespace,
    logFile: join(logs.dir, 'temporal.log'),
    // Not once stopping: its warnings then are about the pollers and connections it is closing.
    onLine: (line) => {
      if (line && !stopping && rankOf(line, 'info') >= logs.threshold) process.stderr.write(`[temporal] ${line}\n`);
    },
  });
}

/** A demo sign-in this start created (its password is shown by this start only). */
type DemoSignIn = { email: string; password: string };
type DemoSignIns = {
  operators: { operator: DemoSignIn; approver: DemoSignIn } | null;
  customer: (DemoSignIn & { tenant: string }) | null;
};

/** The first demo tenant, where the demo customer signs in. */
async function firstCustomerTenant(q: Queryable): Promise<string | null> {
  const { rows } = await q.query<{ externalId: string }>(
    'SELECT external_id AS "externalId" FROM tenants WHERE external_id <> $1 ORDER BY id LIMIT 1',
    [PLATFORM_TENANT_EXTERNAL_ID],
  );
  return rows[0]?.externalId ?? null;
}

async function prepareDatabase(databaseUrl: string): Promise<DemoSignIns> {
  const migration = await migrateDatabase(databaseUrl);
  const database = openDatabase(databaseUrl, { max: 2 });
  try {
    const { rows } = await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM tenants');
    const seeding = rows[0]?.n === 0;
    // One line for what this start did to the database, before the seeding it announces.
    const news = [
      ...(migration.applied > 0 ? [`${migration.applied} migration(s) applied`] : []),
      ...(seeding ? [`seeding ${DEMO.tenants} demo tenants x ${DEMO.findingsPerTenant} findings...`] : []),
    ];
    if (news.length > 0) say(`Database ${describeDatabaseUrl(databaseUrl)}: ${news.join('; ')}`);
    if (seeding) await seedDemoData(database.pool, DEMO);
    // Only a database without any operator (customer user) gets the demo one, so a restart
    // never adds another.
    let operators: DemoSignIns['operators'] = null;
    if ((await countPlatformUsers(database.pool)) === 0) {
      operators = {
        operator: { email: DEMO_OPERATOR_EMAIL, password: generatePassword() },
        approver: { email: DEMO_APPROVER_EMAIL, password: generatePassword() },
      };
      for (const account of Object.values(operators))
        await createPlatformUser(database.pool, { ...account, capabilities: ALL_CAPABILITIES });
    }
    const tenant = (await countCustomerUsers(database.pool)) === 0 ? await firstCustomerTenant(database.pool) : null;
    let customer: DemoSignIns['customer'] = null;
    if (tenant) {
      const password = generatePassword();
      await createCustomerUser(database.pool, { email: DEMO_CUSTOMER_EMAIL, password, tenantExternalId: tenant });
      customer = { email: DEMO_CUSTOMER_EMAIL, password, tenant };
    }
    return { operators, customer };
  } finally {
    await database.close();
  }
}

/**
 * Starts a child. With `logs`, its output goes to `<name>.log` there, and to the terminal its
 * lines from the threshold up, and any line it writes without a level (a crash's); without, it
 * writes to the terminal itself (the console, whose log LOG_FILE sends to its file).
 */
function startChild(
  name: string,
  run: { command: string; args: string[]; env?: Record<string, string> },
  logs?: Logs,
): ChildProcess {
  const child = spawn(run.command, run.args, {
    stdio: logs ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    env: { ...process.env, ...run.env },
  });
  if (logs) {
    teeLines(join(logs.dir, `${name}.log`), [child.stdout!, child.stderr!], (line) => {
      if (rankOf(line, 'error') >= logs.threshold) process.stderr.write(`[${name}] ${readableLine(line)}\n`);
    });
  }
  child.on('exit', (code, signal) => {
    if (!stopping) say(`${name} exited (${signal ?? `code ${code}`}).`);
  });
  return child;
}

/**
 * How to sign in: the demo sign-ins this start created, or else how to create one (an existing
 * operator's password is never shown again). The banner's last lines; a start that stops before
 * its banner prints the ones it created as it stops, so that their passwords are not lost.
 */
function signInLines(config: Config, demo: DemoSignIns): string[] {
  const site = `http://${config.host}:${config.port}`;
  return [
    demo.operators
      ? `Sign in at ${site}/system/login as ${demo.operators.operator.email} / ${demo.operators.operator.password} ` +
        `(the demo operator) or ${demo.operators.approver.email} / ${demo.operators.approver.password} ` +
        '(the demo approver, who approves what the operator requests); both hold every capability, and these passwords are shown by this start only.'
      : `Sign in at ${site}/system/login as an operator of this database; to create one (it prints the password): ` +
        `npm run cli -- platform-user create --email <email> ${ALL_CAPABILITIES.map((c) => `--capability ${c}`).join(' ')}`,
    demo.customer
      ? `Customer ${demo.customer.email} / ${demo.customer.password} of ${demo.customer.tenant} signs in at ${site}/admin/login ` +
        '(shown by this start only).'
      : `Customers sign in at ${site}/admin/login; to create one: ` +
        'npm run cli -- customer-user create --email <email> --tenant <external_id>',
  ];
}

/** Where the logs go, as the banner says it: their folder and files, and what the terminal shows of them. */
function logsLine(dir: string, files: string[], verbose: boolean): string {
  const path = relative(PROJECT_ROOT, dir);
  const shown = path.startsWith('..') || isAbsolute(path) ? dir : path;
  const level = process.env.LOG_LEVEL;
  const here = level
    ? `their lines from LOG_LEVEL=${level} up show here too`
    : verbose
      ? 'everything shows here too (--verbose)'
      : 'warnings and errors show here too (npm start -- --verbose shows everything)';
  return `Logs in ${shown}/: ${files.join(', ')}; ${here}.`;
}

/** `npm start -- --verbose` is its one option. */
function isVerbose(): boolean {
  try {
    return parseArgs({ options: { verbose: { type: 'boolean' } } }).values.verbose === true;
  } catch (error) {
    throw new UsageError(`${firstLine(error)}; npm start takes one option: npm start -- --verbose`);
  }
}

runEntryPoint(async () => {
  const config = loadConfig();
  const verbose = isVerbose();
  const consoleLog = process.env.LOG_FILE || CONSOLE_LOG;
  const logs: Logs = { dir: dirname(consoleLog), threshold: terminalThreshold(process.env.LOG_LEVEL, verbose) };
  // First, so that code that does not build stops the start before anything runs. A warm start
  // finds it built; --json, so that the worker's log says each line's level.
  const workerRun = workerCommand(await buildWorker({ onlyStale: true, log: say }), ['--json']);
  const temporal = await startTemporal(config, logs);
  let database: LocalPostgres | undefined;
  let demo: DemoSignIns;
  try {
    database = await chooseLocalPostgres(config.databaseUrl, {
      given: config.databaseUrlGiven,
      startEmbedded: () => startEmbeddedPostgres(EMBEDDED_POSTGRES_DIR),
    });
    if (database.embedded) say('Using the embedded PostgreSQL in .data/postgres (set DATABASE_URL to use your own)');
    // The worker and the console inherit this environment: they find the database as any DATABASE_URL.
    process.env.DATABASE_URL = database.url;
    demo = await prepareDatabase(database.url);
  } catch (error) {
    // What this start has started stops with it, as on Ctrl-C.
    await database?.embedded?.stop();
    await temporal?.stop();
    throw error;
  }
  let bannerShown = false;
  const worker = startChild('worker', workerRun, logs);
  const children = [
    worker,
    startChild('console', {
      command: process.execPath,
      args: ['--import', 'tsx', join(PROJECT_ROOT, 'src/web/server.ts')],
      env: { LOG_FILE: consoleLog, ...(verbose && !process.env.LOG_LEVEL ? { LOG_LEVEL: 'info' } : {}) },
    }),
  ];

  const stop = async (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    if (!bannerShown && (demo.operators || demo.customer)) for (const line of signInLines(config, demo)) say(line);
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
    await database.embedded?.stop();
    say('Stopped.');
    process.exit(exitCode);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  // One part dying takes the whole stack down rather than leaving it half-working.
  for (const child of children) child.on('exit', () => void stop(1));

  try {
    await untilReady(config, worker.pid!);
  } catch (error) {
    say(`error: ${firstLine(error)}`);
    return stop(1);
  }
  const temporalSeen = temporal
    ? `Temporal UI at ${config.temporalUiUrl}`
    : `Temporal at ${config.temporal.address} (already running; its UI at ${config.temporalUiUrl})`;
  const files = [basename(consoleLog), 'worker.log', ...(temporal ? ['temporal.log'] : [])];
  say(logsLine(logs.dir, files, verbose));
  say(
    `Ready: console at http://${config.host}:${config.port}/system/login (health: /healthz), ${temporalSeen}. ` +
      'Ctrl-C stops everything.',
  );
  bannerShown = true;
  for (const line of signInLines(config, demo)) say(line);
});
