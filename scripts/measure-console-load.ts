// Load figures for the console: seeds a throwaway database with many runs, serves the console on
// a free loopback port, signs in an operator with every capability and runs autocannon against
// the runs list and a running run's live-progress poll, then against the sign-in page: the
// cheapest page this process serves (no session, no database read), the floor of the two
// before on this machine. Prints requests/s, p50/p90/p99 latency and
// the console's event-loop CPU per request per URL; exits 1 when any answer was not 2xx. Sends
// traffic to 127.0.0.1 only. Meanwhile it writes as a worker running the polled run would (its
// item's and its own counts, `--writes` times a second), so that what the console keeps in
// memory is dropped as often as on a live console.
// Usage: tsx scripts/measure-console-load.ts [--runs 10000] [--duration 10] [--connections 10] [--writes 20] [--json]
//   LOAD_KEEP=1 keeps the database (its name is printed) to EXPLAIN the queries afterwards.
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { openDatabase } from '../src/db/client.js';
import { dropDatabase, migrateDatabase } from '../src/db/migrate.js';
import { PLATFORM_TENANT_EXTERNAL_ID } from '../src/db/schema/tenancy.js';
import { inTransaction } from '../src/db/transaction.js';
import { runEntryPoint } from '../src/entryPoint.js';
import { UsageError, UserError } from '../src/errors.js';
import { ALL_CAPABILITIES } from '../src/runbooks/capabilities.js';
import { RUNBOOKS } from '../src/runbooks/registry.js';
import { consoleApp, cookieHeader, createOperator, signIn } from '../tests/support/console.js';
import type { TestDatabase } from '../tests/support/testDatabase.js';

/** Customer tenants; an all-tenants run gets an item for each. */
const TENANTS = 12;

/**
 * The registered runbook for most runs, and two ids no longer registered: runs of a retired
 * runbook stay in the table and the list shows them by id, so its queries meet several runbooks.
 */
const RUNBOOK_IDS = [RUNBOOKS[0]!.id, 'findings.dedupe.repair', 'tenants.retention.backfill'];

interface Options {
  runs: number;
  durationSeconds: number;
  connections: number;
  /** The polled run's progress writes per second during the load (0: none). */
  writesPerSecond: number;
  json: boolean;
}

function wholeNumber(raw: string | undefined, flag: string, fallback: number, max: number, min = 1): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}, got "${raw}"`);
  return value;
}

const USAGE = 'measure-console-load [--runs 10000] [--duration 10] [--connections 10] [--writes 20] [--json]';

function parseOptions(argv: string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        runs: { type: 'string' },
        duration: { type: 'string' },
        connections: { type: 'string' },
        writes: { type: 'string' },
        json: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}; usage: ${USAGE}`);
  }
  return {
    runs: wholeNumber(values.runs, 'runs', 10_000, 1_000_000),
    durationSeconds: wholeNumber(values.duration, 'duration', 10, 600),
    connections: wholeNumber(values.connections, 'connections', 10, 1_000),
    writesPerSecond: wholeNumber(values.writes, 'writes', 20, 1_000, 0),
    json: values.json ?? false,
  };
}

/** Progress goes to stderr, so that `--json` leaves stdout to the figures alone. */
const say = (line: string) => process.stderr.write(`${line}\n`);

/**
 * Tenants, then `runs` operation runs with their items, counts and audit trails, each one
 * INSERT ... SELECT. Runs are spread over 30 days, and some of the last two hours' are still
 * active; run 1 is always a running all-tenants run, the one the poll measures. Returns its id.
 */
async function seedRuns(database: TestDatabase, runs: number): Promise<string> {
  return inTransaction(database.pool, async (client) => {
    await client.query(
      `WITH w AS (
         INSERT INTO workspaces (slug, name)
         SELECT CASE WHEN n = 0 THEN $2 ELSE 'load-' || lpad(n::text, 2, '0') END,
                CASE WHEN n = 0 THEN 'Platform' ELSE 'Load tenant ' || n END
           FROM generate_series(0, $1::int) AS g(n)
         RETURNING id, slug, name)
       INSERT INTO tenants (workspace_id, external_id, name) SELECT id, slug, name FROM w`,
      [TENANTS, PLATFORM_TENANT_EXTERNAL_ID],
    );

    // One MATERIALIZED row of draws per run, so that the columns derived from one draw agree.
    await client.query(
      `WITH customers AS (
         SELECT array_agg(id ORDER BY id) AS ids, array_agg(external_id ORDER BY id) AS externals, array_agg(workspace_id ORDER BY id) AS workspaces
           FROM tenants WHERE external_id <> $2
       ), platform AS (
         SELECT workspace_id FROM tenants WHERE external_id = $2
       ), draws AS MATERIALIZED (
         SELECT n, gen_random_uuid() AS id,
                random() AS status_draw,
                random() AS outcome_draw,
                CASE WHEN n = 1 THEN 0.99 ELSE random() END AS scope_draw,
                CASE WHEN n = 1 THEN 0 ELSE random() END AS runbook_draw,
                random() AS source_draw,
                CASE WHEN n = 1 THEN 0.0001 ELSE random() END AS age_draw,
                floor(random() * $3::int)::int AS first_tenant
           FROM generate_series(1, $1::int) AS g(n)
       ), shaped AS (
         SELECT d.*,
                -- Only a run of the last two hours may still be active, as on a real console.
                CASE WHEN n = 1 THEN 'running' WHEN age_draw * 30 * 24 >= 2 THEN 'completed'
                     WHEN status_draw < 0.25 THEN 'queued' WHEN status_draw < 0.6 THEN 'running' ELSE 'completed' END AS status,
                CASE WHEN scope_draw < 0.7 THEN 'tenant' WHEN scope_draw < 0.8 THEN 'tenants' ELSE 'all_tenants' END AS scope_kind,
                CASE WHEN source_draw < 0.6 THEN 'system_ui' WHEN source_draw < 0.9 THEN 'cli' ELSE 'deploy_hook' END AS source,
                now() - age_draw * interval '30 days' AS created_at
           FROM draws d
       )
       INSERT INTO operation_runs (id, workspace_id, runbook, scope_kind, scope, status, outcome, source, initiator_label, reason,
                                   idempotency_key, workflow_id, counts, error, created_at, started_at, completed_at, paused_at, paused_by)
       SELECT s.id,
              CASE WHEN s.scope_kind = 'tenant' THEN c.workspaces[1 + s.first_tenant] ELSE p.workspace_id END,
              CASE WHEN s.runbook_draw < 0.9 THEN ($4::text[])[1] WHEN s.runbook_draw < 0.97 THEN ($4::text[])[2] ELSE ($4::text[])[3] END,
              s.scope_kind,
              CASE s.scope_kind
                WHEN 'all_tenants' THEN '{"allTenants": true}'::jsonb
                ELSE jsonb_build_object('tenants', (
                  SELECT jsonb_agg(jsonb_build_object('id', c.ids[1 + (s.first_tenant + k) % $3::int], 'externalId', c.externals[1 + (s.first_tenant + k) % $3::int]))
                    FROM generate_series(0, CASE WHEN s.scope_kind = 'tenants' THEN 2 ELSE 0 END) AS k))
              END,
              s.status,
              CASE WHEN s.status <> 'completed' THEN NULL
                   WHEN s.outcome_draw < 0.8 THEN 'succeeded' WHEN s.outcome_draw < 0.88 THEN 'partially_succeeded'
                   WHEN s.outcome_draw < 0.95 THEN 'failed' ELSE 'cancelled' END,
              s.source,
              CASE s.source WHEN 'system_ui' THEN 'operator' || (s.n % 7) || '@example.com' WHEN 'cli' THEN 'cli:ops' ELSE 'deploy:release-' || (s.n % 300) END,
              'Load figures: backfill number ' || s.n || ' after a rules change',
              'load:' || s.n,
              'runbook-run-' || s.id,
              '{}'::jsonb,
              CASE WHEN s.status = 'completed' AND s.outcome_draw >= 0.88 AND s.outcome_draw < 0.95 THEN 'Tenant work failed after 5 attempts' END,
              s.created_at,
              CASE WHEN s.status <> 'queued' THEN s.created_at + interval '2 seconds' END,
              CASE WHEN s.status = 'completed' THEN s.created_at + interval '2 seconds' + s.outcome_draw * interval '40 minutes' END,
              CASE WHEN s.status = 'running' AND s.n % 5 = 0 THEN s.created_at + interval '1 minute' END,
              CASE WHEN s.status = 'running' AND s.n % 5 = 0 THEN 'operator1@example.com' END
         FROM shaped s CROSS JOIN customers c CROSS JOIN platform p`,
      [runs, PLATFORM_TENANT_EXTERNAL_ID, TENANTS, RUNBOOK_IDS],
    );

    // Items follow their run: all settled the way the outcome says, a running run's part done.
    await client.query(
      `WITH items AS MATERIALIZED (
         SELECT r.id AS run_id, t.id AS tenant_id, r.started_at, r.completed_at,
                CASE
                  WHEN r.status = 'queued' THEN 'pending'
                  WHEN r.status = 'running' THEN (ARRAY['succeeded', 'succeeded', 'running', 'pending'])[1 + floor(random() * 4)::int]
                  WHEN r.outcome = 'succeeded' THEN 'succeeded'
                  WHEN r.outcome = 'partially_succeeded' THEN CASE WHEN random() < 0.3 THEN 'failed' ELSE 'succeeded' END
                  WHEN r.outcome = 'failed' THEN 'failed'
                  ELSE (ARRAY['succeeded', 'cancelled'])[1 + floor(random() * 2)::int]
                END AS status,
                floor(random() * 50000)::int AS examined,
                random() * 0.4 AS changed_share
           FROM operation_runs r
           JOIN tenants t
             ON CASE WHEN r.scope ? 'allTenants' THEN t.external_id <> $1
                     ELSE t.id IN (SELECT (s ->> 'id')::bigint FROM jsonb_array_elements(r.scope -> 'tenants') s) END
       )
       INSERT INTO operation_run_items (run_id, tenant_id, status, counts, error, started_at, completed_at)
       SELECT run_id, tenant_id, status,
              CASE WHEN status = 'pending'
                   THEN '{"examined": 0, "changed": 0, "batches": 0, "breakdown": {}, "cursor": 0}'::jsonb
                   ELSE jsonb_build_object('examined', examined, 'changed', floor(examined * changed_share)::int,
                                           'batches', ceil(examined / 2000.0)::int, 'breakdown', '{}'::jsonb, 'cursor', examined)
              END,
              CASE status WHEN 'failed' THEN 'trigger findings_guard raised: due_at before first_seen_at'
                          WHEN 'cancelled' THEN 'The run was cancelled before this tenant finished.' END,
              CASE WHEN status <> 'pending' THEN started_at END,
              CASE WHEN status IN ('succeeded', 'failed', 'cancelled') THEN coalesce(completed_at, now()) END
         FROM items`,
      [PLATFORM_TENANT_EXTERNAL_ID],
    );

    // The run's totals as the worker leaves them (refreshRunCounts does this one run at a time).
    await client.query(
      `UPDATE operation_runs r
          SET counts = totals.counts
         FROM (SELECT run_id, jsonb_build_object(
                        'tenants', count(*),
                        'tenantsPending', count(*) FILTER (WHERE status = 'pending'),
                        'tenantsRunning', count(*) FILTER (WHERE status = 'running'),
                        'tenantsSucceeded', count(*) FILTER (WHERE status = 'succeeded'),
                        'tenantsFailed', count(*) FILTER (WHERE status = 'failed'),
                        'tenantsCancelled', count(*) FILTER (WHERE status = 'cancelled'),
                        'examined', sum((counts ->> 'examined')::bigint),
                        'changed', sum((counts ->> 'changed')::bigint),
                        'batches', sum((counts ->> 'batches')::bigint),
                        'breakdown', '{}'::jsonb) AS counts
                 FROM operation_run_items GROUP BY run_id) totals
        WHERE totals.run_id = r.id`,
    );

    // The trail a run leaves: started; paused; cancel requested; its end, by the worker.
    await client.query(
      `INSERT INTO audit_events (occurred_at, actor_kind, actor_label, action, target_kind, target_id, metadata)
       SELECT e.occurred_at, e.actor_kind, e.actor_label, e.action, 'operation_run', r.id::text,
              jsonb_build_object('runbook', r.runbook, 'source', r.source)
         FROM operation_runs r
        CROSS JOIN LATERAL (VALUES
          (r.created_at, CASE r.source WHEN 'system_ui' THEN 'platform_user' ELSE r.source END, r.initiator_label, 'runbook.started'),
          (r.paused_at, 'platform_user', r.paused_by, 'runbook.paused'),
          (CASE WHEN r.outcome = 'cancelled' THEN r.completed_at - interval '5 seconds' END, 'platform_user', 'operator1@example.com', 'runbook.cancel_requested'),
          (r.completed_at, 'system', 'temporal-worker',
           CASE r.outcome WHEN 'failed' THEN 'runbook.failed' WHEN 'cancelled' THEN 'runbook.cancelled' ELSE 'runbook.completed' END)
        ) AS e(occurred_at, actor_kind, actor_label, action)
        WHERE e.occurred_at IS NOT NULL`,
    );

    const { rows } = await client.query<{ id: string }>(
      `SELECT id FROM operation_runs WHERE idempotency_key = 'load:1'`,
    );
    return rows[0]!.id;
  });
}

/**
 * What a worker writes as the polled run progresses, `perSecond` times a second until stopped:
 * one tenant's counts, then the run's totals (one statement each, as refreshRunCounts does).
 * Returns the stop, which resolves to the writes made.
 */
function writeProgress(pool: pg.Pool, runId: string, perSecond: number): () => Promise<number> {
  if (perSecond === 0) return () => Promise.resolve(0);
  let writes = 0;
  let writing: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    writing = writing.then(async () => {
      await pool.query(
        `UPDATE operation_run_items SET counts = jsonb_set(counts, '{examined}', to_jsonb((counts ->> 'examined')::bigint + 2000))
          WHERE run_id = $1 AND tenant_id = (SELECT min(tenant_id) FROM operation_run_items WHERE run_id = $1)`,
        [runId],
      );
      await pool.query(
        `UPDATE operation_runs SET counts = jsonb_set(counts, '{examined}', to_jsonb((counts ->> 'examined')::bigint + 2000)) WHERE id = $1`,
        [runId],
      );
      writes += 1;
    });
  }, 1000 / perSecond);
  return async () => {
    clearInterval(timer);
    await writing;
    return writes;
  };
}

interface Target {
  name: string;
  path: string;
  headers: Record<string, string>;
}

/** One URL's figures, as the JSON output carries them (bench/consoleLoad.ts reads it). */
export interface Figures {
  name: string;
  path: string;
  requests: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number };
  non2xx: number;
  /** Connection errors and timeouts: requests that got no answer at all. */
  errors: number;
  /** The polled run's progress writes made during the load (each drops what the console keeps of it). */
  writes: number;
  /** CPU time of the console's event loop (this process's main thread) per request; null without /proc. */
  eventLoopCpuMsPerRequest: number | null;
}

/**
 * CPU time (user + system) of this process's main thread so far, in ms: the console's event
 * loop alone, since autocannon fires from a worker thread. From /proc (Linux), null elsewhere.
 */
async function eventLoopCpuMs(): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/self/task/${process.pid}/stat`, 'utf8');
    // stat(5): utime and stime are fields 14 and 15, counted from the state after the `(comm)`,
    // in clock ticks of 10 ms (USER_HZ is 100 on Linux).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

/** One request before the load: a target that fails outright is named with its status, not timed. */
async function probe(base: string, target: Target): Promise<number> {
  const response = await fetch(base + target.path, { headers: target.headers, redirect: 'manual' });
  await response.arrayBuffer();
  return response.status;
}

/**
 * The progress poll when the console has it; until then the run page, which is what a browser
 * reloads to see progress without it.
 */
async function pollTarget(base: string, cookie: string, runId: string, notes: string[]): Promise<Target> {
  const poll: Target = {
    name: 'progress poll',
    path: `/system/ops/runs/${runId}/progress`,
    headers: { cookie, 'hx-request': 'true' },
  };
  const status = await probe(base, poll);
  if (status !== 404) return poll;
  notes.push(`${poll.path} answered 404 (no progress poll yet): measured the run page /system/ops/runs/<id> instead.`);
  return { name: 'run page', path: `/system/ops/runs/${runId}`, headers: { cookie } };
}

/**
 * Autocannon stops with a request in flight on each connection, and the console goes on serving
 * them after their sockets are gone. Waits (10 s at most) until none holds a database client, so
 * that they neither slow the next measurement nor meet the pool's end.
 */
async function settle(pool: pg.Pool): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((pool.totalCount > pool.idleCount || pool.waitingCount > 0) && Date.now() < deadline) await sleep(20);
}

async function measure(
  base: string,
  target: Target,
  options: Options,
  progress: { pool: pg.Pool; runId: string } | null,
): Promise<Figures> {
  const status = await probe(base, target);
  if (status !== 200)
    throw new UserError(
      `${target.path} answered ${status} before the load began; expected 200 for a signed-in operator.`,
    );
  say(`measuring ${target.path} for ${options.durationSeconds} s with ${options.connections} connections...`);
  const stopWriting = progress
    ? writeProgress(progress.pool, progress.runId, options.writesPerSecond)
    : () => Promise.resolve(0);
  // A worker thread fires the requests, so the load generator does not share the console's
  // event loop and its work does not show up as console latency.
  const cpuBefore = await eventLoopCpuMs();
  const result = await autocannon({
    url: base + target.path,
    headers: target.headers,
    connections: options.connections,
    duration: options.durationSeconds,
    workers: 1,
  });
  const cpuAfter = await eventLoopCpuMs();
  const writes = await stopWriting();
  const answered = result.requests.total;
  return {
    name: target.name,
    path: target.path,
    writes,
    requests: result.requests.total,
    requestsPerSecond: result.requests.average,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99 },
    non2xx: result.non2xx,
    errors: result.errors,
    eventLoopCpuMsPerRequest:
      cpuBefore === null || cpuAfter === null || answered === 0 ? null : (cpuAfter - cpuBefore) / answered,
  };
}

function table(figures: Figures[]): string {
  const rows = [
    ['URL', 'requests/s', 'p50 ms', 'p90 ms', 'p99 ms', 'loop CPU ms/req', 'writes', 'non-2xx', 'errors'],
    ...figures.map((f) => [
      f.path,
      f.requestsPerSecond.toFixed(0),
      String(f.latencyMs.p50),
      String(f.latencyMs.p90),
      String(f.latencyMs.p99),
      f.eventLoopCpuMsPerRequest === null ? '-' : f.eventLoopCpuMsPerRequest.toFixed(2),
      String(f.writes),
      String(f.non2xx),
      String(f.errors),
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
        .join('  '),
    )
    .join('\n');
}

runEntryPoint(async () => {
  const options = parseOptions(process.argv.slice(2));
  const name = `platform_ops_load_${process.pid}`;
  const url = `postgres://postgres@127.0.0.1:5432/${name}`;
  const keep = Boolean(process.env.LOAD_KEEP);
  let app: FastifyInstance | null = null;
  const database = openDatabase(url);
  const scratch: TestDatabase = {
    ...database,
    url,
    async destroy() {
      await database.close();
      if (!keep) await dropDatabase(url);
    },
  };
  // Once, however many ways the script ends at once. A console that served waits for its
  // requests first; a seed in progress is simply cut off by the DROP ... WITH (FORCE).
  let cleaning: Promise<void> | null = null;
  const cleanUp = () =>
    (cleaning ??= (async () => {
      if (app) {
        await app.close();
        await settle(database.pool);
      }
      await scratch.destroy();
    })());
  // Ctrl-C reaches this process twice (from the terminal and relayed by tsx), and a second
  // signal without a listener would end it before the database is dropped.
  const interrupted = () => {
    if (cleaning) return;
    say(keep ? `stopped; keeping database ${name}` : 'stopped; dropping the scratch database');
    void cleanUp().finally(() => process.exit(130));
  };
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);

  try {
    await migrateDatabase(url);
    const started = performance.now();
    const pollRunId = await seedRuns(scratch, options.runs);
    // Statistics as autovacuum would have them on a live database, so the plans are the real ones.
    await database.pool.query('ANALYZE');
    const { rows } = await database.pool.query<{ runs: number; items: number; audit: number }>(
      `SELECT (SELECT count(*) FROM operation_runs)::int AS runs, (SELECT count(*) FROM operation_run_items)::int AS items,
              (SELECT count(*) FROM audit_events)::int AS audit`,
    );
    const seeded = rows[0]!;
    say(
      `seed: ${seeded.runs.toLocaleString('en-US')} runs, ${seeded.items.toLocaleString('en-US')} items, ` +
        `${seeded.audit.toLocaleString('en-US')} audit events over ${TENANTS} tenants in ${((performance.now() - started) / 1000).toFixed(1)} s (database ${name})`,
    );

    // Errors only, on stderr: a non-2xx answer leaves its cause there, and stdout keeps the figures.
    app = await consoleApp(scratch, { logger: { level: 'error', stream: process.stderr } });
    const { cookies } = await signIn(app, await createOperator(scratch, ALL_CAPABILITIES));
    const cookie = cookieHeader(cookies);
    const base = await app.listen({ host: '127.0.0.1', port: 0 });

    const notes: string[] = [];
    const targets = [
      { name: 'runs list', path: '/system/ops/runs', headers: { cookie } },
      await pollTarget(base, cookie, pollRunId, notes),
    ];
    const figures: Figures[] = [];
    for (const target of targets) {
      figures.push(await measure(base, target, options, { pool: database.pool, runId: pollRunId }));
      await settle(database.pool);
    }
    const floor = await measure(
      base,
      { name: 'sign-in page (floor)', path: '/system/login', headers: {} },
      options,
      null,
    );

    if (options.json) {
      console.log(
        JSON.stringify(
          {
            runs: seeded.runs,
            durationSeconds: options.durationSeconds,
            connections: options.connections,
            writesPerSecond: options.writesPerSecond,
            results: figures,
            floor,
            notes,
          },
          null,
          2,
        ),
      );
    } else {
      console.log(
        `${seeded.runs.toLocaleString('en-US')} runs, ${options.connections} connections, ${options.durationSeconds} s per URL, ` +
          `the polled run's progress written ${options.writesPerSecond} times a second meanwhile`,
      );
      console.log(table([...figures, floor]));
      for (const note of notes) console.log(`note: ${note}`);
    }
    const failed = [...figures, floor].filter((f) => f.non2xx > 0 || f.errors > 0);
    if (failed.length > 0) {
      throw new UserError(
        `${failed.map((f) => `${f.path}: ${f.non2xx} non-2xx answers, ${f.errors} errors`).join('; ')}. ` +
          'Every answer must be 2xx; the console logged the cause of any 5xx above.',
      );
    }
  } finally {
    await cleanUp();
  }
});
