// 50 starts of one scope at once, from both surfaces: 25 console confirmations (each of its own
// preflight) and 25 compiled CLI processes, against a real worker. Exactly one run; every other
// start is refused, naming the run that holds the scope (or, had it ended meanwhile, as drifted).
import { execFile } from 'node:child_process';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, CLI_ENTRY } from '../src/cli/compile.mjs';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';
import { ALL_CAPABILITIES } from '../src/runbooks/capabilities.js';
import { buildApp } from '../src/web/app.js';
import { createOperator, fieldOf, postForm, signIn } from './support/console.js';
import { LIFECYCLE, useRunbookHarness } from './support/harness.js';
import { waitForRun } from './support/runs.js';
import { slowBatches, undoRebuilds } from './support/slowBatches.js';

const STARTS_EACH = 25;
const REASON = 'Concurrency check: one run of many starts';

describe('50 concurrent starts of one scope, from the console and the CLI', () => {
  const h = useRunbookHarness({
    seed: { tenants: 2, findingsPerTenant: 400, seed: 47 },
    settings: { batchSize: 50 },
  });
  let app: FastifyInstance;
  let session: { cookies: Record<string, string>; csrf: string };

  beforeAll(async () => {
    app = await buildApp({ config: h.config, database: h.database, temporal: h.client });
    session = await signIn(app, await createOperator(h.database, ALL_CAPABILITIES));
    await buildCli();
  });
  afterAll(async () => {
    await app?.close();
  });

  const cli = () =>
    new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        [CLI_ENTRY, 'start-runbook', 'findings-lifecycle', '--tenant', 'tenant-00001', '--reason', REASON],
        {
          cwd: PROJECT_ROOT,
          env: {
            ...process.env,
            DATABASE_URL: h.database.url,
            TEMPORAL_ADDRESS: h.config.temporal.address,
            TEMPORAL_TASK_QUEUE: h.config.temporal.taskQueue,
          },
          timeout: 120_000,
        },
        (error, _stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stderr }),
      ),
    );

  it('makes exactly one run; every other start is refused, naming the run that holds the scope', async () => {
    await undoRebuilds(h.database.pool);
    // Batches slow enough that the run outlives every start here.
    const restore = await slowBatches(h.database.pool, 300);
    try {
      const confirmations: Array<Record<string, string>> = [];
      for (let i = 0; i < STARTS_EACH; i++) {
        const form = await postForm(
          app,
          `/system/ops/runbooks/${LIFECYCLE}/preflight`,
          { _csrf: session.csrf, scope: 'tenant', tenant: 'tenant-00001' },
          { cookies: session.cookies },
        );
        expect(form.statusCode).toBe(200);
        const confirm = form.body.slice(form.body.indexOf('class="confirm"'));
        confirmations.push({
          _csrf: fieldOf(confirm, '_csrf'),
          scope: 'tenant',
          tenant: 'tenant-00001',
          preflightId: fieldOf(confirm, 'preflightId'),
          idempotencyKey: fieldOf(confirm, 'idempotencyKey'),
          reason: REASON,
        });
      }
      const [consoleStarts, cliStarts] = await Promise.all([
        Promise.all(
          confirmations.map((fields) =>
            postForm(app, `/system/ops/runbooks/${LIFECYCLE}/start`, fields, { cookies: session.cookies }),
          ),
        ),
        Promise.all(Array.from({ length: STARTS_EACH }, cli)),
      ]);

      const { rows } = await h.database.pool.query<{ id: string }>(
        `SELECT id FROM operation_runs WHERE scope -> 'tenants' -> 0 ->> 'externalId' = 'tenant-00001'`,
      );
      expect(rows).toHaveLength(1);
      const holder = rows[0]!.id;
      const refusedInWords = (text: string) =>
        text.includes(`Run ${holder}`) && text.includes('already covers this scope')
          ? 'lock held'
          : /The data changed since preflight/.test(text)
            ? 'drifted'
            : `unexpected: ${text.slice(0, 300)}`;
      const outcomes = [
        ...consoleStarts.map((response) =>
          response.statusCode === 303 ? 'started' : `${response.statusCode} ${refusedInWords(response.body)}`,
        ),
        ...cliStarts.map((result) => (result.code === 0 ? 'started' : refusedInWords(result.stderr))),
      ];
      expect(outcomes.filter((outcome) => outcome === 'started')).toHaveLength(1);
      for (const outcome of outcomes.filter((outcome) => outcome !== 'started'))
        expect(outcome).toMatch(/^(422 )?(lock held|drifted)$/);
    } finally {
      await restore();
    }
    const { rows } = await h.database.pool.query<{ id: string }>(
      `SELECT id FROM operation_runs WHERE scope -> 'tenants' -> 0 ->> 'externalId' = 'tenant-00001'`,
    );
    expect(await waitForRun(h.database.pool, rows[0]!.id)).toMatchObject({ outcome: 'succeeded' });
  });
});
