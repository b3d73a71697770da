import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from './support/cli.js';

const RUN_ID = '0b7c2f0e-8d51-4d1e-9a55-3f0c2f7e8a10';
const REASON = 'Checking every error path prints one line';

/** A server that accepts a connection and hangs up at once: a PostgreSQL dying under us. */
let hangUp: Server;
let hangUpUrl: string;
beforeAll(async () => {
  hangUp = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => hangUp.listen(0, '127.0.0.1', resolve));
  const address = hangUp.address();
  hangUpUrl = `postgres://ops:hunter2@127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/ops`;
});
afterAll(() => new Promise<void>((resolve) => hangUp.close(() => resolve())));

function expectOneLine(result: { code: number; stdout: string; stderr: string }, code: number, message: RegExp): void {
  expect(result.code).toBe(code);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(message);
  // No stack trace and no driver object dump, whatever went wrong.
  expect(result.stderr + result.stdout).not.toMatch(/\n\s+at |\{\s*$|severity:|routine:|length: \d+/m);
  expect(result.stderr).not.toContain('hunter2');
}

describe.concurrent('every CLI error is one line with the documented exit code', () => {
  const unreachable = { DATABASE_URL: 'postgres://ops:hunter2@127.0.0.1:1/ops' };
  it.each([
    [['runs', 'list']],
    [['runs', 'show', RUN_ID]],
    [['runs', 'follow', RUN_ID]],
    [['runs', 'cancel', RUN_ID]],
    [['start-runbook', 'findings-lifecycle', '--tenant', 'acme', '--reason', REASON]],
    [['db', 'migrate']],
    [['seed', '--tenants', '1', '--findings-per-tenant', '1']],
  ])('an unreachable PostgreSQL: %j → exit 3', async (args) => {
    expectOneLine(await runCli(args, unreachable), 3, /Cannot reach PostgreSQL at 127\.0\.0\.1:1/);
  });

  it.each([[['runs', 'list']], [['runs', 'show', RUN_ID]], [['worker']]])(
    'a server that hangs up on connect: %j → exit 3',
    async (args) => {
      expectOneLine(await runCli(args, { DATABASE_URL: hangUpUrl }), 3, /PostgreSQL|Connection terminated/);
    },
  );

  it('a database that does not exist → exit 3, saying how to create it', async () => {
    const url = new URL(inject('templateDatabaseUrl'));
    url.pathname = '/platform_ops_no_such_database';
    expectOneLine(
      await runCli(['runs', 'list'], { DATABASE_URL: url.toString() }),
      3,
      /does not exist\. Run "npm run cli -- db migrate"/,
    );
  });

  it.each([
    [['nope'], /unknown command 'nope'/],
    [['runs', 'show'], /missing required argument 'id'/],
    [['runs', 'list', '--limit', '0'], /whole number from 1 to 1000/],
    [['start-runbook'], /missing required argument 'runbook'/],
  ])('bad usage: %j → exit 2', async (args, message) => {
    expectOneLine(await runCli(args, unreachable), 2, message);
  });
});
