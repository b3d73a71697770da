import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';
import { runCli } from './support/cli.js';

describe('tsx src/cli worker', () => {
  it('names the unreachable PostgreSQL, without the password', async () => {
    const result = await runCli(['worker'], { DATABASE_URL: 'postgres://ops:hunter2@127.0.0.1:1/ops' });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^error: Cannot reach PostgreSQL at 127\.0\.0\.1:1\/ops \(ECONNREFUSED\)/);
    expect(result.stderr).not.toContain('hunter2');
  });

  it('names the unreachable Temporal server', async () => {
    const result = await runCli(['worker'], { DATABASE_URL: inject('templateDatabaseUrl'), TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^error: Cannot reach Temporal at 127\.0\.0\.1:1 .*TEMPORAL_ADDRESS/);
  });

  it('logs JSON lines with --json and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'src/cli/index.ts'), 'worker', '--json'], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        DATABASE_URL: inject('templateDatabaseUrl'),
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TEMPORAL_TASK_QUEUE: 'cli-worker-test' },
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const deadline = Date.now() + 60_000;
    while (!stdout.includes('polling task queue cli-worker-test') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    const lines = stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(lines).toContainEqual(expect.objectContaining({ level: 'INFO', message: expect.stringContaining('polling task queue cli-worker-test') }));
  });
});
