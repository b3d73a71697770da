import { createServer, type Server, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from './support/cli.js';
import { useRunbookHarness } from './support/harness.js';

const REASON = 'Hostile input check for the CLI';

/** One line on stderr, no stack frames, no driver dump, no password; and the exit code. */
function expectOneLine(result: CliResult, code: number, message: RegExp): void {
  expect({ code: result.code, stderr: result.stderr }).toMatchObject({ code });
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(message);
  expect(result.stderr + result.stdout).not.toMatch(/\n\s+at |\{\s*$|severity:|routine:|length: \d+|Pa55|hunter2/m);
}

describe('the CLI under bad input', () => {
  const h = useRunbookHarness({ seed: { tenants: 4, findingsPerTenant: 20, seed: 23 } });
  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    DATABASE_URL: h.database.url,
    TEMPORAL_ADDRESS: h.config.temporal.address,
    TEMPORAL_TASK_QUEUE: h.config.temporal.taskQueue,
    ...extra,
  });
  const count = async (sql: string) => (await h.database.pool.query(sql)).rows[0].n as number;
  const written = async () => ({
    runs: await count('SELECT count(*)::int AS n FROM operation_runs'),
    preflights: await count('SELECT count(*)::int AS n FROM preflights'),
    audits: await count(`SELECT count(*)::int AS n FROM audit_events WHERE action = 'runbook.start_rejected'`),
  });

  /** A listener that accepts connections and never answers: a hung PostgreSQL. */
  let silent: Server;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    sockets.forEach((socket) => socket.destroy());
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  const start = (...args: string[]) => ['start-runbook', 'findings-lifecycle', ...args];

  it.each([
    [
      'a preflight id of dashes',
      start('--tenant', 'tenant-00001', '--reason', REASON, '--preflight', '-'.repeat(36)),
      /Preflight -{36} does not exist/,
      1,
    ],
    [
      'a preflight id of 36 hex digits',
      start('--tenant', 'tenant-00001', '--reason', REASON, '--preflight', 'a'.repeat(36)),
      /Preflight a{36} does not exist/,
      1,
    ],
    [
      'an empty preflight id',
      start('--tenant', 'tenant-00001', '--reason', REASON, '--preflight', ''),
      /--preflight needs the id of a saved preflight/,
      0,
    ],
    [
      'a 3,000-character idempotency key',
      start('--tenant', 'tenant-00001', '--reason', REASON, '--idempotency-key', 'k'.repeat(3000)),
      /1 to 200 characters .* this one has 3000/,
      1,
    ],
    [
      'the platform tenant',
      start('--tenant', 'platform', '--reason', REASON),
      /platform tenant \("platform"\) can never be targeted/,
      1,
    ],
    ['unknown tenants', start('--tenant', 'nope-1,nope-2', '--reason', REASON), /Unknown tenants: nope-1, nope-2\./, 1],
    [
      'a reason with terminal escapes',
      start('--tenant', 'tenant-00001', '--reason', '\u001b[2K\rFAKE: Completed (succeeded)'),
      /control characters/,
      1,
    ],
    [
      'a reason of 9 emoji (9 characters, 18 UTF-16 units)',
      start('--tenant', 'tenant-00001', '--reason', '🔥'.repeat(9)),
      /it has 9\./,
      1,
    ],
    [
      'a wrong confirmation',
      start('--all-tenants', '--reason', REASON, '--confirm', 'yes'),
      /typed confirmation "ALL TENANTS" exactly/,
      1,
    ],
    [
      'an unknown runbook',
      ['start-runbook', 'nope', '--tenant', 'tenant-00001', '--reason', REASON],
      /Unknown runbook "nope"/,
      1,
    ],
  ])(
    '%s: exit 2, one line, no run or preflight written, the refusal audited as due',
    async (_, args, message, audits) => {
      const before = await written();
      expectOneLine(await runCli(args, env()), 2, message);
      expect(await written()).toEqual({ ...before, audits: before.audits + audits });
    },
  );

  it('echoes a 100 KB argument cut short', async () => {
    for (const args of [
      ['runs', 'show', 'x'.repeat(100_000)],
      ['seed', '--tenants', '9'.repeat(100_000), '--findings-per-tenant', '1'],
    ]) {
      const result = await runCli(args, env());
      expect(result.code).toBe(2);
      expect(result.stderr.length).toBeLessThan(1_500);
      expect(result.stderr).toMatch(/more characters\)/);
    }
  });

  it.each([
    ['a / in the password', 'postgres://admin:Pa55/w0rd@127.0.0.1:5432/db'],
    ['not a URL', 'not a url'],
    ['another scheme', 'mysql://root@127.0.0.1/db'],
  ])('DATABASE_URL with %s: exit 2, says how to write it, never echoes it', async (_, url) => {
    for (const args of [
      ['runs', 'list'],
      ['db', 'migrate'],
    ]) {
      const result = await runCli(args, { DATABASE_URL: url });
      expectOneLine(
        result,
        2,
        /DATABASE_URL is not a valid PostgreSQL URL; write it as postgres:\/\/user:password@host:5432\/database/,
      );
      expect(result.stderr).not.toContain(url);
    }
  });

  it('gives up on a server that never answers within the connect timeout: exit 3', async () => {
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const result = await runCli(['runs', 'list'], {
      DATABASE_URL: `postgres://ops:hunter2@127.0.0.1:${port}/ops`,
      DATABASE_CONNECT_TIMEOUT_SECONDS: '1',
    });
    expectOneLine(
      result,
      3,
      new RegExp(
        `Cannot reach PostgreSQL at 127\\.0\\.0\\.1:${port}/ops \\(no answer in time; DATABASE_CONNECT_TIMEOUT_SECONDS`,
      ),
    );
  });

  it('a start Temporal refused: the same key then says it failed and a new key is needed, without a new preflight', async () => {
    const args = start('--tenant', 'tenant-00002', '--reason', REASON, '--idempotency-key', 'refused-once');
    const refused = await runCli(args, env({ TEMPORAL_NAMESPACE: 'no-such-namespace' }));
    // The preflight it printed, then one error line.
    expect(refused.code).toBe(3);
    expect(
      refused.stderr
        .trimEnd()
        .split('\n')
        .filter((line) => line.startsWith('error')),
    ).toEqual([expect.stringMatching(/^error: Temporal at .* did not start the workflow/)]);
    expect(refused.stderr.trimEnd().split('\n').at(-1)).toMatch(/^error: /);
    const { rows } = await h.database.pool.query(
      `SELECT actor_label FROM audit_events WHERE action = 'runbook.failed' ORDER BY id DESC LIMIT 1`,
    );
    expect(rows[0].actor_label).toMatch(/^cli:/);
    const before = await written();
    expectOneLine(
      await runCli(args, env()),
      2,
      /The start with idempotency key "refused-once" failed \(run [0-9a-f-]{36}: Temporal at .*\); use a new key/,
    );
    expect(await written()).toMatchObject({ runs: before.runs, preflights: before.preflights });
  });

  it('a reused key returns the run without a new preflight; runs list takes the CLI name; runs show takes an upper-case id', async () => {
    const args = start(
      '--tenant',
      'tenant-00003',
      '--reason',
      `${REASON}\nsecond line`,
      '--idempotency-key',
      'reused-key',
      '--wait',
      '--json',
    );
    const first = await runCli(args, env());
    expect(first.code).toBe(0);
    const { run } = JSON.parse(first.stdout);
    const preflights = (await written()).preflights;
    const again = await runCli(
      args.filter((arg) => arg !== '--wait'),
      env(),
    );
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ created: false, run: { id: run.id }, preflight: null });
    expect((await written()).preflights).toBe(preflights);

    const listed = await runCli(['runs', 'list', '--runbook', 'findings-lifecycle', '--json'], env());
    expect(JSON.parse(listed.stdout).map((r: { id: string }) => r.id)).toContain(run.id);
    const shown = await runCli(['runs', 'show', run.id.toUpperCase()], env());
    expect(shown.stdout).toContain('runbook.started');
    // The stored reason keeps its newline; the terminal sees it escaped, on one line.
    expect(shown.stdout).toContain(`"${REASON}\\nsecond line"`);
    const cancel = await runCli(['runs', 'cancel', run.id], env({ TEMPORAL_ADDRESS: '127.0.0.1:1' }));
    expectOneLine(cancel, 2, /already completed \(succeeded\)/);
  });

  it('takes the runbook name wherever it stands among the options', async () => {
    const result = await runCli(
      ['start-runbook', '--tenant', 'tenant-00004', 'findings-lifecycle', '--preflight-only', '--json'],
      env(),
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).report).toMatchObject({
      tenantsInScope: 1,
      scope: { description: 'tenant-00004' },
    });
  });

  it('never prints a stack trace or exits outside 0–3, whatever the arguments', async () => {
    const word = fc.constantFrom(
      'start-runbook',
      'runs',
      'list',
      'show',
      'cancel',
      'pause',
      'resume',
      'db',
      'migrate',
      'seed',
      'findings-lifecycle',
      'nope',
    );
    const flag = fc.constantFrom(
      '--tenant',
      '--all-tenants',
      '--reason',
      '--confirm',
      '--preflight',
      '--idempotency-key',
      '--json',
      '--status',
      '--limit',
      '--tenants',
      '--findings-per-tenant',
      '--',
      '-x',
    );
    const value = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom('', '0', '-1', '1e9', 'ALL TENANTS', 'platform', '\u001b[2K', 'a'.repeat(600)),
    );
    const argv = fc
      .array(fc.oneof(word, flag, value), { minLength: 1, maxLength: 7 })
      .filter((args) => !args.includes('--help') && !args.includes('-h'));
    await fc.assert(
      fc.asyncProperty(argv, async (args) => {
        // Temporal unreachable: however the words fall, nothing can start or follow a run.
        const result = await runCli(args, env({ TEMPORAL_ADDRESS: '127.0.0.1:1' }));
        expect([0, 1, 2, 3]).toContain(result.code);
        expect(result.stderr + result.stdout).not.toMatch(/\n\s+at |severity:|routine:/);
        expect(result.stderr.split('\n').filter((line) => line.startsWith('error')).length).toBeLessThanOrEqual(1);
      }),
      { numRuns: 12 },
    );
  }, 180_000);
});
