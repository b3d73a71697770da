// `npm start` itself (src/dev/start.ts) on a test database, against the tests' Temporal dev server
// (which it finds answering, so it starts none), with the console's log (and the worker's beside
// it) in a folder of the test's.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../src/dev/freePort.js';
import { buildWorker } from '../src/temporal/workerBuild.js';
import { runCli, spawnTsx } from './support/cli.js';
import { createCustomer, createOperator, csrfTokenOf } from './support/console.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';
import { until } from './support/until.js';

/** The banner's end: "Ready: …" and the two sign-in lines after it. */
const BANNER_END = /\[start\] Ready: .* Ctrl-C stops everything\.\n\[start\] (.*)\n\[start\] (.*)\n/;
/**
 * What `npm start` may print on a healthy start, npm's own lines included: npm prints 4 before
 * the script's (a blank line, `> platform-ops-runbooks@0.1.0 start`, the command, a blank line).
 */
const LINE_BUDGET = 10;
const NPM_HEADER_LINES = 4;

/** Signs in at the console as a browser would (sign-in page, its cookie and CSRF token, the form): the status. */
async function signIn(site: string, email: string, password: string): Promise<number> {
  const page = await fetch(`${site}/system/login`);
  const cookie = page.headers
    .getSetCookie()
    .map((header) => header.split(';', 1)[0])
    .join('; ');
  const response = await fetch(`${site}/system/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({ email, password, _csrf: csrfTokenOf(await page.text()) }).toString(),
  });
  return response.status;
}

describe('npm start', () => {
  let database: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'npm-start-'));
  });
  afterAll(async () => {
    await database?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  interface Started {
    site: string;
    logFile: string;
    signIns: string[];
    /** What it printed, stdout and stderr, until the end of its banner. */
    lines: string[];
  }

  /**
   * Starts it (with `args`), waits for the end of its banner, lets `use` work with the console,
   * then stops it with Ctrl-C; resolves to everything it printed.
   */
  async function withStart(
    args: string[],
    use: (start: Started) => Promise<void>,
  ): Promise<{ stdout: string; stderr: string; logFile: string }> {
    const port = await freePort();
    const logFile = join(dir, `logs-${port}`, 'console.log');
    const start = spawnTsx('src/dev/start.ts', args, {
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: `npm-start-${randomBytes(4).toString('hex')}`,
      PORT: String(port),
      LOG_FILE: logFile,
      LOG_LEVEL: '',
      // The default policy, as a newcomer's start has it (the tests' is none, which warns).
      APPROVALS: 'all_tenants:1',
    });
    try {
      const [, ...signIns] = await start.waitForStdout(BANNER_END, 240_000);
      // The sign-in lines are the last the terminal has: nothing of the start-up came after them.
      expect(start.stdout.endsWith(`[start] ${signIns.at(-1)}\n`)).toBe(true);
      const lines = (start.stdout + start.stderr).split('\n').slice(0, -1);
      await use({ site: `http://127.0.0.1:${port}`, logFile, signIns, lines });
    } finally {
      start.interrupt();
    }
    const stopped = await start.exited;
    expect(stopped.code, stopped.stderr).toBe(0);
    return { ...stopped, logFile };
  }

  /** The logs line of a start that found Temporal answering: the console's log and the worker's, in `logFile`'s folder. */
  const logsLine = (logFile: string, here: string) =>
    `[start] Logs in ${dirname(logFile)}/: console.log, worker.log; ${here}.`;
  const QUIET = 'warnings and errors show here too (npm start -- --verbose shows everything)';

  it('ends its banner, once everything is up, with the demo sign-ins it created; the requests and the worker log go to their files', async () => {
    const { stdout, stderr } = await withStart([], async ({ site, logFile, signIns, lines }) => {
      // A first start, which seeds the database, keeps to the budget too.
      expect(lines.length + NPM_HEADER_LINES, lines.join('\n')).toBeLessThanOrEqual(LINE_BUDGET);
      expect(lines).toContainEqual(
        expect.stringMatching(/^\[start\] Database \S+: seeding 20 demo tenants x 1000 findings\.\.\.$/),
      );
      expect(lines).toContain(logsLine(logFile, QUIET));
      const [operator, customer] = signIns;
      const created = operator!.match(/^Sign in at (\S+)\/system\/login as (operator@example\.com) \/ (\S+) /);
      expect(created, operator).not.toBeNull();
      expect(created![1]).toBe(site);
      expect(customer).toMatch(/^Customer customer@example\.com \/ \S+ of tenant-\d+ signs in at \S+\/admin\/login /);
      // The printed password signs the operator in: 303 to the console.
      expect(await signIn(site, created![2]!, created![3]!)).toBe(303);
      // And the demo approver's, beside it: the second operator a change request needs.
      const approver = operator!.match(/ or (approver@example\.com) \/ (\S+) \(the demo approver/);
      expect(approver, operator).not.toBeNull();
      expect(await signIn(site, approver![1]!, approver![2]!)).toBe(303);
      const logged = await until(
        () => readFile(logFile, 'utf8').catch(() => ''),
        (text) => text.includes('"url":"/system/login"') && text.includes('"method":"POST"'),
        'the sign-in requests in the console log',
      );
      expect(logged).toContain('"msg":"request completed"');
      // The worker's log, JSON lines, beside the console's: its start-up, which the terminal did not show.
      await until(
        () => readFile(join(dirname(logFile), 'worker.log'), 'utf8').catch(() => ''),
        (text) => /^\{"time":"[^"]+","level":"INFO","message":"worker polling task queue npm-start-\w+ on /m.test(text),
        "the worker's polling line in its log",
      );
    });
    // Requests were made and the worker logged: none of it reached the terminal.
    expect(stdout + stderr).not.toMatch(/incoming request|request completed|polling task queue|INFO/);
  }, 300_000);

  it('on a database with operators, ends its banner with how to create one; the command it names works', async () => {
    await createOperator(database, ['platform.ops.runs.view']);
    await createCustomer(database);
    await withStart([], async ({ signIns }) => {
      const [operator, customer] = signIns;
      expect(operator).toMatch(
        /^Sign in at \S+\/system\/login as an operator of this database; to create one \(it prints the password\): npm run cli -- platform-user create --email <email>( --capability \S+)+$/,
      );
      expect(customer).toMatch(
        /^Customers sign in at \S+\/admin\/login; to create one: npm run cli -- customer-user create --email <email> --tenant <external_id>$/,
      );
      const args = operator!
        .slice(operator!.indexOf('npm run cli -- ') + 'npm run cli -- '.length)
        .replace('<email>', 'second@example.com')
        .split(' ');
      const created = await runCli([...args, '--json'], { DATABASE_URL: database.url });
      expect(created.code, created.stderr).toBe(0);
      expect(JSON.parse(created.stdout)).toMatchObject({ email: 'second@example.com', password: expect.any(String) });
    });
  }, 300_000);

  it(`on a warm start (built, migrated, seeded), prints at most ${LINE_BUDGET} lines with npm's own, and nothing more until it stops`, async () => {
    // A warm machine: the worker's build is current (the starts above built it).
    await buildWorker({ onlyStale: true });
    const { stdout, stderr, logFile } = await withStart([], async ({ lines }) => {
      expect(lines.length + NPM_HEADER_LINES, lines.join('\n')).toBeLessThanOrEqual(LINE_BUDGET);
    });
    expect(stderr).toBe('');
    expect(stdout.split('\n').slice(0, -1)).toEqual([
      logsLine(logFile, QUIET),
      expect.stringMatching(
        /^\[start\] Ready: console at http:\/\/127\.0\.0\.1:\d+\/system\/login \(health: \/healthz\), Temporal at \S+ \(already running; its UI at http:\/\/\S+\)\. Ctrl-C stops everything\.$/,
      ),
      expect.stringMatching(/^\[start\] Sign in at /),
      expect.stringMatching(/^\[start\] Customers sign in at /),
      '[start] Stopping...',
      '[start] Stopped.',
    ]);
  }, 300_000);

  it("with --verbose, shows the worker's log and every request on the terminal too", async () => {
    const { stdout, stderr } = await withStart(['--verbose'], async ({ site, logFile, lines }) => {
      expect(lines).toContain(logsLine(logFile, 'everything shows here too (--verbose)'));
      expect(lines).toContainEqual(
        expect.stringMatching(/^\[worker\] INFO worker polling task queue npm-start-\w+ on /),
      );
      await fetch(`${site}/system/login`);
    });
    expect(stdout + stderr).toMatch(/"url":"\/system\/login"[^\n]*"msg":"incoming request"/);
  }, 300_000);

  it('refuses an option it does not know, in one line', async () => {
    const start = spawnTsx('src/dev/start.ts', ['--quiet'], { DATABASE_URL: database.url });
    const { code, stdout, stderr } = await start.exited;
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^error: Unknown option '--quiet'.*; npm start takes one option: npm start -- --verbose\n$/);
  });
});
