import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Config } from '../src/config.js';
import { startEphemeralDevServer, type RunningDevServer } from '../src/dev/devServer.js';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';
import type { ScopeInput } from '../src/runbooks/scope.js';
import { seedDemoData } from '../src/seed/seedDemoData.js';
import { ensureSearchAttributes, SEARCH_ATTRIBUTE_NAMES } from '../src/temporal/searchAttributes.js';
import { startTestRun } from './support/harness.js';
import { createOperator, waitForRun } from './support/runs.js';
import { testConfig, testWorker } from './support/temporal.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';
import { until } from './support/until.js';

/** Visible workflows of a run, by the search attribute the project registers. */
async function findByRunId(client: Client, runId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const workflow of client.workflow.list({ query: `OperationRunId = "${runId}"` }))
    ids.push(workflow.workflowId);
  return ids.sort();
}

// Any cluster that is not the project's dev server: nobody registered the search attributes.
describe("a Temporal server without the project's search attributes", () => {
  let server: RunningDevServer;
  let database: TestDatabase;
  let config: Config;
  let client: Client;
  let worker: { worker: Worker; connection: NativeConnection };
  let running: Promise<void>;

  beforeAll(async () => {
    server = await startEphemeralDevServer(
      inject('temporalCli'),
      join(tmpdir(), `platform-ops-test-bare-temporal-${process.pid}.log`),
      {
        overrides: { searchAttributes: {} },
      },
    );
    database = await createTestDatabase();
    await seedDemoData(database.pool, { tenants: 3, findingsPerTenant: 20, seed: 4 });
    const base = testConfig(database.url);
    config = { ...base, temporal: { ...base.temporal, address: server.address } };
    client = new Client({ connection: await Connection.connect({ address: server.address }) });
    worker = await testWorker(config, database.pool);
    running = worker.worker.run();
  });

  afterAll(async () => {
    worker?.worker.shutdown();
    await running;
    await worker?.connection.close();
    await client?.connection.close();
    await database?.destroy();
    await server?.stop();
  });

  async function start(scope: ScopeInput) {
    const operator = await createOperator(database.pool);
    const { run } = await startTestRun({ pool: database.pool, client, config, operator }, scope);
    return waitForRun(database.pool, run.id);
  }

  it('starts and completes runs without them', async () => {
    const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace: 'default' });
    expect(Object.keys(customAttributes ?? {})).not.toContain('OperationRunId');
    expect(await start({ kind: 'tenants', externalIds: ['tenant-00001'] })).toMatchObject({ outcome: 'succeeded' });
    expect(await start({ kind: 'all_tenants' })).toMatchObject({
      outcome: 'succeeded',
      counts: { tenantsSucceeded: 3 },
    });
  });

  it('says what is missing and the command that adds it where registration is refused', async () => {
    const refused = await ensureSearchAttributes(client.connection.operatorService, 'no-such-namespace');
    expect(refused).toMatchObject({ ok: false, missing: SEARCH_ATTRIBUTE_NAMES });
    if (refused.ok) throw new Error('unreachable');
    expect(refused.error).toMatch(/no-such-namespace/);
    expect(refused.command).toBe(
      'temporal operator search-attribute create --namespace no-such-namespace ' +
        '--name OperationRunId --type Keyword --name Runbook --type Keyword --name TenantExternalId --type Keyword',
    );
  });

  it('the worker registers them at start; runs are then findable by OperationRunId', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'src/cli/index.ts'), 'worker'], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        DATABASE_URL: database.url,
        TEMPORAL_ADDRESS: server.address,
        TEMPORAL_TASK_QUEUE: 'search-attributes-test',
      },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await until(
        async () => stderr,
        (text) => text.includes('polling task queue'),
        'the worker to start',
        60_000,
      );
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    expect(stderr).toContain(
      'worker: registered the search attributes OperationRunId, Runbook, TenantExternalId on namespace default',
    );
    // A second look finds nothing to do.
    expect(await ensureSearchAttributes(client.connection.operatorService, 'default')).toEqual({
      ok: true,
      registered: [],
    });

    const single = await start({ kind: 'tenants', externalIds: ['tenant-00002'] });
    const all = await start({ kind: 'all_tenants' });
    await until(
      () => findByRunId(client, single.id),
      (ids) => ids.length === 1,
      'the single-tenant workflow to be visible',
    );
    // The fan-out and one child per tenant carry the run's id.
    const ids = await until(
      () => findByRunId(client, all.id),
      (found) => found.length === 4,
      'the all-tenants workflows to be visible',
    );
    expect(ids).toContain(all.workflowId);
  });
});
