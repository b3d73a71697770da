// `npm start` itself (src/dev/start.ts) on a test database, against the tests' Temporal dev server
// (which it finds answering, so it starts none), with the console's log in a folder of the test's.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../src/dev/freePort.js';
import { runCli, spawnTsx } from './support/cli.js';
import { createCustomer, createOperator, csrfTokenOf } from './support/console.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';
import { until } from './support/until.js';

/** The banner's end: "Ready." and the two sign-in lines after it. */
const BANNER_END = /\[start\] Ready\. Ctrl-C stops everything\.\n\[start\] (.*)\n\[start\] (.*)\n/;

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

  /** Starts it, waits for the end of its banner, lets `use` work with the console, then stops it with Ctrl-C. */
  async function withStart(use: (start: { site: string; logFile: string; signIns: string[] }) => Promise<void>) {
    const port = await freePort();
    const logFile = join(dir, `logs-${port}`, 'console.log');
    const start = spawnTsx('src/dev/start.ts', [], {
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: `npm-start-${randomBytes(4).toString('hex')}`,
      PORT: String(port),
      LOG_FILE: logFile,
      LOG_LEVEL: '',
    });
    try {
      const [, ...signIns] = await start.waitForStdout(BANNER_END, 240_000);
      // The sign-in lines are the last the terminal has: nothing of the start-up came after them.
      expect(start.stdout.endsWith(`[start] ${signIns.at(-1)}\n`)).toBe(true);
      expect(start.stdout).toContain(
        `[start] Console log: ${logFile}; warnings and errors show here too (LOG_LEVEL=info shows every request here).\n`,
      );
      await use({ site: `http://127.0.0.1:${port}`, logFile, signIns });
    } finally {
      start.interrupt();
    }
    const stopped = await start.exited;
    expect(stopped.code, stopped.stderr).toBe(0);
    // Requests were made: none of them reached the terminal.
    expect(stopped.stdout + stopped.stderr).not.toMatch(/incoming request|request completed/);
  }

  it('ends its banner, once everything is up, with the demo sign-ins it created; the requests go to the log file', async () => {
    await withStart(async ({ site, logFile, signIns }) => {
      const [operator, customer] = signIns;
      const created = operator!.match(/^Sign in at (\S+)\/system\/login as (operator@example\.com) \/ (\S+) /);
      expect(created, operator).not.toBeNull();
      expect(created![1]).toBe(site);
      expect(customer).toMatch(/^Customer customer@example\.com \/ \S+ of tenant-\d+ signs in at \S+\/admin\/login /);
      // The printed password signs the operator in: 303 to the console.
      expect(await signIn(site, created![2]!, created![3]!)).toBe(303);
      const logged = await until(
        () => readFile(logFile, 'utf8').catch(() => ''),
        (text) => text.includes('"url":"/system/login"') && text.includes('"method":"POST"'),
        'the sign-in requests in the console log',
      );
      expect(logged).toContain('"msg":"request completed"');
    });
  }, 300_000);

  it('on a database with operators, ends its banner with how to create one; the command it names works', async () => {
    await createOperator(database, ['platform.ops.runs.view']);
    await createCustomer(database);
    await withStart(async ({ signIns }) => {
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
});
