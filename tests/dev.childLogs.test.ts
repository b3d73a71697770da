import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { rankOf, readableLine, teeLines, terminalThreshold } from '../src/dev/childLogs.js';
import { until } from './support/until.js';

/** Lines as the worker (`worker --json`) and the Temporal dev server write them. */
const WORKER = {
  info: '{"time":"2026-01-01T00:00:00.000Z","level":"INFO","message":"worker polling task queue q on 127.0.0.1:7233"}',
  warn: '{"time":"2026-01-01T00:00:00.000Z","level":"WARN","message":"namespace lacks the search attributes","taskQueue":"q"}',
  crash: 'error: unexpected failure: boom. This is a bug; set DEBUG=1 to print its stack trace.',
};
const DEV_SERVER = {
  info: 'CLI 1.5.1 (Server 1.29.1, UI 2.42.1)',
  warn: 'time=2026-01-01T00:00:00.000 level=WARN msg="Failed to poll for task." service=worker',
  error: 'time=2026-01-01T00:00:00.000 level=ERROR msg="failed starting server"',
};

/** Which of `lines` the terminal shows at `threshold`, as npm start picks them. */
const shown = (lines: string[], otherwise: 'info' | 'error', threshold: number) =>
  lines.filter((line) => rankOf(line, otherwise) >= threshold);

describe("what npm start shows of its children's logs", () => {
  it('shows warnings and errors by default, and a line without a level from the worker (a crash)', () => {
    const threshold = terminalThreshold(undefined, false);
    expect(shown(Object.values(WORKER), 'error', threshold)).toEqual([WORKER.warn, WORKER.crash]);
    expect(shown(Object.values(DEV_SERVER), 'info', threshold)).toEqual([DEV_SERVER.warn, DEV_SERVER.error]);
  });

  it('shows everything with --verbose or LOG_LEVEL=info, and only errors with LOG_LEVEL=error', () => {
    for (const threshold of [terminalThreshold(undefined, true), terminalThreshold('info', false)]) {
      expect(shown(Object.values(WORKER), 'error', threshold)).toEqual(Object.values(WORKER));
      expect(shown(Object.values(DEV_SERVER), 'info', threshold)).toEqual(Object.values(DEV_SERVER));
    }
    const errors = terminalThreshold('error', true);
    expect(shown(Object.values(WORKER), 'error', errors)).toEqual([WORKER.crash]);
    expect(shown(Object.values(DEV_SERVER), 'info', errors)).toEqual([DEV_SERVER.error]);
  });

  it('refuses a LOG_LEVEL it does not know, naming the ones it does', () => {
    expect(() => terminalThreshold('verbose', false)).toThrow(
      'LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, got "verbose"',
    );
  });

  it("shows a worker's line as level, message and its other fields", () => {
    expect(readableLine(WORKER.warn)).toBe('WARN namespace lacks the search attributes {"taskQueue":"q"}');
    expect(readableLine(WORKER.info)).toBe('INFO worker polling task queue q on 127.0.0.1:7233');
    expect(readableLine(WORKER.crash)).toBe(WORKER.crash);
  });

  it('writes every line of both streams to the file, whole, and hands each to the terminal filter', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'child-logs-')), 'logs', 'worker.log');
    const [stdout, stderr] = [new PassThrough(), new PassThrough()];
    const seen: string[] = [];
    teeLines(file, [stdout, stderr], (line) => seen.push(line));
    stdout.write(WORKER.info.slice(0, 20));
    stderr.write(`${WORKER.crash}\n`);
    stdout.end(`${WORKER.info.slice(20)}\n${WORKER.warn}\n`);
    stderr.end();
    const written = await until(
      () => readFile(file, 'utf8').catch(() => ''),
      (text) => text.split('\n').length === 4,
      'three lines in the file',
    );
    expect(written.split('\n').slice(0, -1).sort()).toEqual([WORKER.crash, WORKER.info, WORKER.warn].sort());
    expect(seen.sort()).toEqual([WORKER.crash, WORKER.info, WORKER.warn].sort());
  });
});
