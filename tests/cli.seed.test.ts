import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';

/** Runs the real CLI (`tsx src/cli ...`) as a child process against `databaseUrl`. */
const cli = (args: string[], databaseUrl: string) => runCli(args, { DATABASE_URL: databaseUrl });

const lines = (text: string) => text.split('\n').filter((line) => line.trim() !== '');

const UNREACHABLE = 'postgres://u:secret@127.0.0.1:1/x';

// Usage errors never reach the database; each case is its own process, so they run side by side.
describe.concurrent('tsx src/cli seed: usage errors', () => {
  it.each([
    ['-1', /--tenants <n>.*'-1'.*whole number from 1/],
    ['abc', /--tenants <n>.*'abc'.*whole number from 1/],
    ['0', /--tenants <n>.*'0'.*whole number from 1/],
  ])('rejects --tenants %s with exit code 2 and one line', async (value, message) => {
    const run = await cli(['seed', '--tenants', value, '--findings-per-tenant', '10'], UNREACHABLE);
    expect(run.code).toBe(2);
    expect(lines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
  });

  it('rejects a missing --findings-per-tenant with exit code 2', async () => {
    const run = await cli(['seed', '--tenants', '1'], UNREACHABLE);
    expect(run.code).toBe(2);
    expect(lines(run.stderr)).toEqual([expect.stringMatching(/--findings-per-tenant/)]);
  });

  it('rejects a total above the cap with exit code 2', async () => {
    const run = await cli(['seed', '--tenants', '100000', '--findings-per-tenant', '1000'], UNREACHABLE);
    expect(run.code).toBe(2);
    expect(lines(run.stderr)).toEqual([expect.stringMatching(/at most 50,000,000/)]);
  });

  it('exits 3 and names host:port but not the password when PostgreSQL is unreachable', async () => {
    const run = await cli(['seed', '--tenants', '1', '--findings-per-tenant', '1'], UNREACHABLE);
    expect(run.code).toBe(3);
    expect(lines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toContain('127.0.0.1:1');
    expect(run.stderr).not.toContain('secret');
  });
});

describe('tsx src/cli seed', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.destroy());

  it('seeds and prints the result as JSON with --json', async () => {
    const run = await cli(['seed', '--tenants', '2', '--findings-per-tenant', '10', '--seed', '3', '--json'], db.url);
    expect(run.code).toBe(0);
    expect(run.stderr).not.toMatch(/error/i);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({
      tenants: 2,
      findings: 20,
      alreadyRebuilt: 2,
      platformFindings: 20,
      externalIds: { first: 'tenant-00001', last: 'tenant-00002' },
    });
    expect(result.ms).toBeGreaterThan(0);
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM findings`);
    expect(rows[0].n).toBe(40);
  });

  it('prints progress to stderr and a summary line to stdout without --json', async () => {
    const run = await cli(['seed', '--tenants', '1', '--findings-per-tenant', '5'], db.url);
    expect(run.code).toBe(0);
    expect(lines(run.stdout)).toEqual([
      expect.stringMatching(/^Seeded 1 tenant \(tenant-00003\): 5 findings .* in \d+\.\d s on /),
    ]);
    expect(run.stderr).toMatch(/1\/1 tenants, 5\/5 findings/);
  });
});
