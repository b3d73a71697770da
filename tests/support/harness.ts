import type { SizingRequest } from '../../src/runbooks/sizing/runSizing.js';
import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import type { Config, RunSettings } from '../../src/config.js';
import type { Initiator } from '../../src/runbooks/initiator.js';
import { runPreflight, type SavedPreflight } from '../../src/runbooks/preflight.js';
import { getRunbook } from '../../src/runbooks/registry.js';
import type { RunRecord } from '../../src/runbooks/runs.js';
import type { ScopeInput } from '../../src/runbooks/scope.js';
import { runOf, startRunbook } from '../../src/runbooks/start.js';
import { ALL_TENANTS_PHRASE } from '../../src/runbooks/model.js';
import type { GuardsInput } from '../../src/runbooks/model.js';
import { seedDemoData, type SeedOptions } from '../../src/seed/seedDemoData.js';
import { flagRunbook } from './flagRunbook.js';
import './registerFlagRunbook.js';
import { createOperator } from './runs.js';
import { testClient, testConfig, testLauncher, testWorker } from './temporal.js';
import { createTestDatabase, type TestDatabase } from './testDatabase.js';
import type { GateChange } from '../../src/runbooks/health/gateSettings.js';
import type { RunLauncher } from '../../src/runbooks/launcher.js';
import type { RunSource } from '../../src/runbooks/model.js';

/**
 * The runbook the engine's tests run: the test runbook of flagRunbook.ts, registered in this
 * process (registerFlagRunbook.ts), so that no engine test depends on a catalog runbook's rules.
 */
export const RUNBOOK = flagRunbook.id;

/**
 * Its parameters unless a test says otherwise: every seeded finding was created more than a day
 * before now (the seed's are dated in the year before SEED_BASE_DATE), so a run marks every
 * finding of the four severities it flags, and leaves the 'info' ones (about 15%) alone.
 */
export const FLAG_PARAMETERS: Record<string, unknown> = { olderThanDays: 1 };

/** Rebuild Findings Lifecycle, for the tests of what only a catalog runbook has (see their comments). */
export const LIFECYCLE = 'findings.lifecycle.rebuild';

export type StartOptions = {
  initiator?: Initiator;
  source?: RunSource;
  reason?: string;
  guards?: GuardsInput;
  /** Another runbook than RUNBOOK; it starts with `parameters`, or none. */
  runbook?: string;
  /** The runbook's parameters: FLAG_PARAMETERS for RUNBOOK unless given. */
  parameters?: Record<string, unknown>;
  /** Its batch size and target, over the harness's settings. */
  sizing?: SizingRequest;
};

/** Preflights the scope and starts against it through the one starter, as the console does. */
export async function startTestRun(
  world: { pool: pg.Pool; client: Client; config: Config; operator: Initiator },
  scope: ScopeInput,
  options: StartOptions = {},
): Promise<{ preflight: SavedPreflight; run: RunRecord }> {
  const initiator = options.initiator ?? world.operator;
  const runbook = options.runbook ?? RUNBOOK;
  const parameters = options.parameters ?? (runbook === RUNBOOK ? FLAG_PARAMETERS : {});
  const preflight = await runPreflight(world.pool, { runbook: getRunbook(runbook), scope, parameters, initiator });
  const { run } = runOf(
    await startRunbook(
      { pool: world.pool, launcher: testLauncher(world) },
      {
        runbook,
        scope,
        parameters,
        initiator,
        reason: options.reason ?? 'A run of the engine tests',
        source: options.source ?? 'system_ui',
        confirmation: scope.kind === 'all_tenants' ? ALL_TENANTS_PHRASE : null,
        preflightId: preflight.id,
        guards: options.guards,
        sizing: options.sizing,
      },
    ),
  );
  return { preflight, run };
}

export interface RunbookHarness {
  database: TestDatabase;
  config: Config;
  client: Client;
  /** The engine's way to this file's workflows (its task queue, its settings). */
  launcher: RunLauncher;
  /** An operator with every capability. */
  operator: Initiator;
  /** Preflights the scope and starts against it through the one starter, as the console does. */
  start(scope: ScopeInput, options?: StartOptions): Promise<{ preflight: SavedPreflight; run: RunRecord }>;
}

/**
 * One test file's world: its own seeded database, a Temporal client on its own task queue and,
 * unless `worker: false`, a real in-process worker polling that queue.
 */
export function useRunbookHarness(setup: {
  seed: Omit<SeedOptions, 'onProgress'>;
  settings?: Partial<RunSettings>;
  /** Health-gate thresholds its runs start with, over the tests' (see testConfig). */
  gates?: GateChange;
  worker?: boolean;
}): RunbookHarness {
  const harness = {} as RunbookHarness;
  let worker: Worker | undefined;
  let connection: NativeConnection | undefined;
  let running: Promise<void> | undefined;

  beforeAll(async () => {
    harness.database = await createTestDatabase();
    await seedDemoData(harness.database.pool, setup.seed);
    harness.config = testConfig(harness.database.url, setup.settings, setup.gates);
    harness.client = await testClient(harness.config);
    harness.launcher = testLauncher(harness);
    harness.operator = await createOperator(harness.database.pool);
    if (setup.worker !== false) {
      ({ worker, connection } = await testWorker(harness.config, harness.database.pool));
      running = worker.run();
    }
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await connection?.close();
    await harness.client?.connection.close();
    await harness.database?.destroy();
  });

  harness.start = (scope, options) =>
    startTestRun(
      { pool: harness.database.pool, client: harness.client, config: harness.config, operator: harness.operator },
      scope,
      options,
    );
  return harness;
}
