import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/dev/freePort.js';
import { requestLog } from '../src/web/requestLog.js';
import { spawnTsx } from './support/cli.js';
import { consoleApp } from './support/console.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';
import { until } from './support/until.js';

type LogLine = { level: number; msg: string; req?: { method: string; url: string } };
const parseLines = (text: string): LogLine[] =>
  text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
const requestsIn = (lines: LogLine[]) => lines.filter((line) => line.msg === 'incoming request');
const WARN = 40;

describe('the request log', () => {
  let database: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'request-log-'));
  });
  afterAll(async () => {
    await database?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('records a request by its method and path, never its query string', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const app = await consoleApp(database, { logger: requestLog({ level: 'info', stream }) });
    try {
      const response = await app.inject({
        method: 'GET',
        url: '/system/login?next=%2Fsystem%2Fops%2Ftenants%3Fq%3Dacme-secret',
      });
      expect(response.statusCode).toBe(200);
    } finally {
      await app.close();
    }
    const requests = lines.map((line) => JSON.parse(line) as { req?: { method: string; url: string } });
    expect(requests.map((entry) => entry.req).filter(Boolean)).toEqual([
      expect.objectContaining({ method: 'GET', url: '/system/login' }),
    ]);
    expect(lines.join('')).not.toMatch(/acme-secret|next=/);
  });

  it('refuses an unknown LOG_LEVEL by naming the levels', () => {
    expect(() => requestLog({ level: 'verbose' })).toThrow(
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
    );
  });

  /**
   * The console process as `npm start` runs it (or production, without LOG_FILE): a sign-in page
   * and a health check that finds Temporal down, which logs a warning; then what the terminal
   * (stdout, stderr) and the file got.
   */
  async function serve(env: Record<string, string>) {
    const port = await freePort();
    const server = spawnTsx('src/web/server.ts', [], {
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: '127.0.0.1:1',
      PORT: String(port),
      LOG_LEVEL: '',
      LOG_FILE: '',
      ...env,
    });
    try {
      const answered = (path: string) =>
        until(
          () =>
            fetch(`http://127.0.0.1:${port}${path}`).then(
              (response) => response.status,
              () => null,
            ),
          (status) => status !== null,
          `the console to answer ${path}`,
        );
      expect(await answered('/system/login?next=%2Fsystem%2Fops%2Fruns')).toBe(200);
      expect(await answered('/healthz')).toBe(503);
      if (env.LOG_FILE) {
        // Written by the transport's thread: there once both requests are complete.
        await until(
          () => readFile(env.LOG_FILE!, 'utf8').catch(() => ''),
          (text) => parseLines(text).filter((line) => line.msg === 'request completed').length === 2,
          'the log file to hold both requests',
        );
      }
    } finally {
      server.interrupt();
    }
    const { stdout, stderr } = await server.exited;
    return { stdout: parseLines(stdout), stderr: parseLines(stderr) };
  }

  it('with LOG_FILE, the log goes to that file and only warnings and errors to the terminal', async () => {
    const file = join(dir, 'logs', 'console.log');
    const terminal = await serve({ LOG_FILE: file, APPROVALS: 'none' });
    const logged = parseLines(await readFile(file, 'utf8'));
    expect(requestsIn(logged).map((line) => line.req?.url)).toEqual(['/system/login', '/healthz']);
    expect(logged.filter((line) => line.level === WARN).map((line) => line.msg)).toContain(
      'health check: temporal unavailable',
    );

    expect(terminal.stdout).toEqual([]);
    expect(terminal.stderr.length).toBeGreaterThan(0);
    expect(terminal.stderr.every((line) => line.level >= WARN)).toBe(true);
    expect(terminal.stderr.map((line) => line.msg)).toContain('health check: temporal unavailable');
    // A deployment that turned approvals off hears of it at every start.
    expect(terminal.stderr.map((line) => line.msg)).toContain(
      "APPROVALS=none: no start needs a second operator's approval; every start, all tenants included, runs at once",
    );
  });

  it('LOG_LEVEL=info with LOG_FILE brings the requests back to the terminal; without LOG_FILE they go to stdout', async () => {
    const file = join(dir, 'info', 'console.log');
    const [both, stdoutOnly] = await Promise.all([serve({ LOG_FILE: file, LOG_LEVEL: 'info' }), serve({})]);
    expect(requestsIn(both.stderr).map((line) => line.req?.url)).toEqual(['/system/login', '/healthz']);
    expect(requestsIn(parseLines(await readFile(file, 'utf8')))).toHaveLength(2);
    expect(requestsIn(stdoutOnly.stdout).map((line) => line.req?.url)).toEqual(['/system/login', '/healthz']);
    expect(stdoutOnly.stderr).toEqual([]);
  });
});
