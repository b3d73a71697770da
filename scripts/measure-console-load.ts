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
import { runEntryPoint } from '../src/entryPoint.js';
import { UsageError, UserError } from '../src/errors.js';
import { ALL_CAPABILITIES } from '../src/runbooks/capabilities.js';
import { consoleApp, cookieHeader, createOperator, signIn } from '../tests/support/console.js';
import { SEEDED_RUN_TENANTS, seedRuns } from '../tests/support/seedRuns.js';
import type { TestDatabase } from '../tests/support/testDatabase.js';

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
  // The benchmark's server (the tests hand theirs, which may be an embedded one), else the default.
  const server = new URL(process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres');
  server.pathname = `/${name}`;
  const url = server.toString();
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
    const pollRunId = await seedRuns(scratch.pool, options.runs);
    // Statistics as autovacuum would have them on a live database, so the plans are the real ones.
    await database.pool.query('ANALYZE');
    const { rows } = await database.pool.query<{ runs: number; items: number; audit: number }>(
      `SELECT (SELECT count(*) FROM operation_runs)::int AS runs, (SELECT count(*) FROM operation_run_items)::int AS items,
              (SELECT count(*) FROM audit_events)::int AS audit`,
    );
    const seeded = rows[0]!;
    say(
      `seed: ${seeded.runs.toLocaleString('en-US')} runs, ${seeded.items.toLocaleString('en-US')} items, ` +
        `${seeded.audit.toLocaleString('en-US')} audit events over ${SEEDED_RUN_TENANTS} tenants in ${((performance.now() - started) / 1000).toFixed(1)} s (database ${name})`,
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
