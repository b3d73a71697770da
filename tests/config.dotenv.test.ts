import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';

const run = promisify(execFile);

/** The CLI run in `cwd` (where a `.env` is looked for), with only these variables set. */
async function cliIn(cwd: string, env: Record<string, string>, args: string[]) {
  const result = await run(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), join(PROJECT_ROOT, 'src/cli/index.ts'), ...args],
    { cwd, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 },
  ).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
  return result;
}

describe('.env', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'platform-ops-dotenv-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fills in what the environment does not set, and never overrides what it does', async () => {
    // A server nobody listens on, named only in the file: the CLI must try it, and say so.
    await writeFile(join(dir, '.env'), 'DATABASE_URL=postgres://postgres@127.0.0.1:9/from_dotenv\n');
    const fromFile = await cliIn(dir, {}, ['runs', 'list']);
    expect(fromFile.code).toBe(3);
    expect(fromFile.stderr).toContain('127.0.0.1:9');
    const fromEnv = await cliIn(dir, { DATABASE_URL: 'postgres://postgres@127.0.0.1:7/from_env' }, ['runs', 'list']);
    expect(fromEnv.code).toBe(3);
    expect(fromEnv.stderr).toContain('127.0.0.1:7');
    expect(fromEnv.stderr).not.toContain('127.0.0.1:9');
  });

  it('is optional, and one that cannot be read is a one-line configuration error', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'platform-ops-dotenv-none-'));
    try {
      expect((await cliIn(empty, {}, ['--help'])).code).toBe(0);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
    const unreadable = await mkdtemp(join(tmpdir(), 'platform-ops-dotenv-dir-'));
    try {
      // A folder where the file should be: reading it fails with EISDIR, whoever runs the test.
      await run('mkdir', [join(unreadable, '.env')]);
      const refused = await cliIn(unreadable, {}, ['runs', 'list']);
      expect(refused.code).toBe(2);
      expect(refused.stderr.trim()).toMatch(
        /^error: The \.env file here could not be read \(.*\); fix or remove it\.$/,
      );
    } finally {
      await rm(unreadable, { recursive: true, force: true });
    }
  });

  it('.env.example names every variable of the README’s configuration table', async () => {
    const readme = await readFile(join(PROJECT_ROOT, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('## Configuration (environment)'));
    const rows = table.slice(0, table.indexOf('\n\n', table.indexOf('| variable')));
    const variables = [...rows.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((match) => match[1]!);
    expect(variables.length).toBeGreaterThan(20);
    const example = await readFile(join(PROJECT_ROOT, '.env.example'), 'utf8');
    const listed = new Set([...example.matchAll(/^# ([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1]!));
    // REBUILD_* are the deprecated old names, listed only as a pattern.
    expect(variables.filter((name) => !listed.has(name) && !name.startsWith('REBUILD_'))).toEqual([]);
  });
});
