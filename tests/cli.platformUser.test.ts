import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../src/auth/passwords.js';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';
import { ALL_CAPABILITIES } from '../src/runbooks/capabilities.js';
import { runCli, type CliResult } from './support/cli.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';

/** `tsx src/cli <args>` with `input` piped to its stdin. */
function runCliWithStdin(args: string[], env: Record<string, string>, input: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', join(PROJECT_ROOT, 'src/cli/index.ts'), ...args],
      { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, timeout: 120_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(input);
  });
}

describe('platform-user create', () => {
  let database: TestDatabase;
  let env: Record<string, string>;

  const user = async (email: string) =>
    (
      await database.pool.query(
        'SELECT email, password_hash, capabilities, is_active FROM platform_users WHERE email = $1',
        [email],
      )
    ).rows[0];

  beforeAll(async () => {
    database = await createTestDatabase();
    env = { DATABASE_URL: database.url };
  });

  afterAll(async () => {
    await database?.destroy();
  });

  it('creates an operator with a generated password, printed once, stored as an argon2id hash', async () => {
    const result = await runCli(
      [
        'platform-user',
        'create',
        '--email',
        'Ops@Example.com',
        '--capability',
        'platform.ops.runs.view',
        '--capability',
        'platform.ops.runbooks.view',
      ],
      env,
    );
    expect(result.code, result.stderr).toBe(0);
    const password = result.stdout.match(/Password \(shown once, store it now\): (\S+)/)?.[1];
    expect(password).toBeDefined();
    const row = await user('ops@example.com');
    expect(row).toMatchObject({
      capabilities: ['platform.ops.runs.view', 'platform.ops.runbooks.view'],
      is_active: true,
    });
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(row.password_hash, password!)).toBe(true);
    expect(row.password_hash).not.toContain(password);
  });

  it('takes the password from stdin and prints none', async () => {
    const result = await runCliWithStdin(
      [
        'platform-user',
        'create',
        '--email',
        'piped@example.com',
        '--capability',
        'platform.ops.runs.view',
        '--password-stdin',
        '--json',
      ],
      env,
      'a piped password 123\n',
    );
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      email: 'piped@example.com',
      capabilities: ['platform.ops.runs.view'],
    });
    expect(result.stdout).not.toContain('password');
    expect(await verifyPassword((await user('piped@example.com')).password_hash, 'a piped password 123')).toBe(true);
  });

  it('a duplicate email is a one-line error, exit 2', async () => {
    const args = ['platform-user', 'create', '--email', 'twice@example.com', '--capability', ALL_CAPABILITIES[0]!];
    expect((await runCli(args, env)).code).toBe(0);
    const again = await runCli(args, env);
    expect(again.code).toBe(2);
    expect(again.stderr.trim().split('\n')).toEqual([
      'error: A platform user with the email twice@example.com already exists.',
    ]);
  });

  it.each([
    ['an unknown capability', ['--email', 'x@example.com', '--capability', 'platform.everything']],
    ['no capability', ['--email', 'x@example.com']],
    ['no email', ['--capability', 'platform.ops.runs.view']],
    ['a malformed email', ['--email', 'not an email', '--capability', 'platform.ops.runs.view']],
  ])('%s is a usage error, exit 2', async (_name, args) => {
    const result = await runCli(['platform-user', 'create', ...args], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: /);
    expect(await user('x@example.com')).toBeUndefined();
  });

  it('a short password on stdin is refused, exit 2', async () => {
    const result = await runCliWithStdin(
      [
        'platform-user',
        'create',
        '--email',
        'short@example.com',
        '--capability',
        'platform.ops.runs.view',
        '--password-stdin',
      ],
      env,
      'short\n',
    );
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('error: the password on stdin must be 12 to 1024 characters on one line.');
    expect(await user('short@example.com')).toBeUndefined();
  });
});
