import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import type pg from 'pg';
import { inject } from 'vitest';
import { loadConfig, type Config, type RunSettings } from '../../src/config.js';
import type { GateChange } from '../../src/runbooks/health/gateSettings.js';
import type { RunLauncher } from '../../src/runbooks/launcher.js';
import type { RunObserver } from '../../src/runbooks/runObserver.js';
import { temporalLauncher } from '../../src/temporal/launcher.js';
import { createWorker } from '../../src/temporal/worker.js';

let runtimeInstalled = false;

/**
 * Worker logs only on errors, so test output stays readable: the SDK's logger and the core's,
 * which otherwise prints a WARN line per retried gRPC call while a test's Temporal server is down.
 */
function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } },
  });
}

/** Settings that make failures and retries quick in tests. */
const FAST_SETTINGS: RunSettings = {
  batchSize: 250,
  childParallelism: 4,
  continueAsNewAfter: 500,
  maxAttempts: 2,
  heartbeatTimeoutMs: 5_000,
  activityTimeBudgetMs: 2_000,
};

/** Config for a test: its own task queue on the test dev server, and the test database. */
/**
 * A test's configuration: its database, the tests' Temporal on a task queue of its own, fast run
 * settings, and the health gates as the tests' environment sets them (vitest.config.ts), with
 * `gates` over them.
 */
export function testConfig(databaseUrl: string, settings: Partial<RunSettings> = {}, gates: GateChange = {}): Config {
  const health = Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('HEALTH_')));
  // A test of change windows shortens their minutes (CHANGE_WINDOW_MINUTE) for its file's worker.
  const windows = process.env.CHANGE_WINDOW_MINUTE ? { CHANGE_WINDOW_MINUTE: process.env.CHANGE_WINDOW_MINUTE } : {};
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    // The tests' policy (vitest.config.ts: none); a test of approvals gives its own.
    APPROVALS: process.env.APPROVALS ?? 'none',
    ...health,
    ...windows,
  });
  const base = config.health.gates;
  return {
    ...config,
    temporal: { ...config.temporal, taskQueue: `test-${randomBytes(4).toString('hex')}` },
    runs: { ...FAST_SETTINGS, ...settings },
    health: {
      ...config.health,
      gates: {
        ...base,
        ...gates,
        hold: { ...base.hold, ...gates.hold },
        critical: { ...base.critical, ...gates.critical },
      },
    },
  };
}

/** The engine's launcher on a test's client: its task queue and settings, as the console and the CLI make theirs. */
export function testLauncher(world: { config: Config; client: Client }): RunLauncher {
  return temporalLauncher(world.config, () => Promise.resolve(world.client));
}

export async function testClient(config: Config): Promise<Client> {
  const connection = await Connection.connect({ address: config.temporal.address });
  return new Client({ connection, namespace: config.temporal.namespace });
}

/** A real worker on the config's task queue, using the workflow bundle built once per run (and telling `observer`). */
export async function testWorker(
  config: Config,
  pool: pg.Pool,
  options: { observer?: RunObserver } = {},
): Promise<{ worker: Worker; connection: NativeConnection }> {
  quietRuntime();
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await createWorker({
    connection,
    config,
    pool,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    observer: options.observer,
  });
  return { worker, connection };
}
