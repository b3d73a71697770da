import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  downloadWithSdk,
  ensureTemporalCli,
  findTemporalCli,
  type TemporalCliDownload,
} from '../src/dev/temporalCli.js';
import { freePort } from '../src/dev/freePort.js';
import { until } from './support/until.js';

const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

function script(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** A stand-in for Go that records its arguments and "installs" a binary into $GOBIN. */
function fakeGo(pathDir: string): { calls: () => string } {
  const calls = join(pathDir, 'calls');
  script(
    pathDir,
    'go',
    `[ "$1" = version ] && exit 0\necho "$@" >> ${calls}\nprintf '#!/bin/sh\\n' > "$GOBIN/temporal" && /bin/chmod +x "$GOBIN/temporal"`,
  );
  return { calls: () => (existsSync(calls) ? readFileSync(calls, 'utf8') : '') };
}

/** The error that `promise` rejects with; a promise that resolves fails the test. */
function failureOf(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    (value) => {
      throw new Error(`expected a failure, got ${String(value)}`);
    },
    (error: unknown) => error as Error,
  );
}

/** Stand-ins for the SDK's download. */
const downloads = {
  succeeds: (async (dest) => {
    writeFileSync(dest, '#!/bin/sh\n');
    chmodSync(dest, 0o755);
  }) satisfies TemporalCliDownload,
  fails: (() => Promise.reject(new Error('dns error: temporal.download not found'))) satisfies TemporalCliDownload,
  /** Never answers; ends only when aborted. Says when it started and how often it was aborted. */
  hangs() {
    let markStarted: () => void;
    const calls = { started: new Promise<void>((resolve) => (markStarted = resolve)), aborted: 0 };
    const download: TemporalCliDownload = (_dest, signal) => {
      markStarted();
      return new Promise((_, reject) =>
        signal.addEventListener('abort', () => {
          calls.aborted++;
          reject(new Error('aborted'));
        }),
      );
    };
    return { download, calls };
  },
};

/** The final error's five options, in the order they are tried. */
const EVERY_OPTION_IN_ORDER = new RegExp(
  [
    'Tried, in order:',
    '1\\. TEMPORAL_CLI: not set',
    '2\\. \\S+/temporal: not there',
    '3\\. temporal on PATH: not found',
    "4\\. the Temporal SDK's download from temporal\\.download: ",
    '5\\. go install github\\.com/temporalio/cli/cmd/temporal@v1\\.5\\.1: ',
    'Any one of these fixes it: set TEMPORAL_CLI=',
  ].join('[^]*'),
);

describe('finding the Temporal CLI', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('prefers TEMPORAL_CLI, then the tools folder, then PATH', () => {
    const [explicitDir, toolsBin, pathDir] = [tempDir('explicit-'), tempDir('tools-'), tempDir('path-')];
    const explicit = script(explicitDir, 'temporal', 'exit 0');
    const onPath = script(pathDir, 'temporal', 'exit 0');
    expect(findTemporalCli({ PATH: pathDir }, toolsBin)).toEqual({ path: onPath, source: 'PATH' });
    const local = script(toolsBin, 'temporal', 'exit 0');
    expect(findTemporalCli({ PATH: pathDir }, toolsBin)).toEqual({ path: local, source: 'tools folder' });
    expect(findTemporalCli({ PATH: pathDir, TEMPORAL_CLI: explicit }, toolsBin)).toEqual({
      path: explicit,
      source: 'TEMPORAL_CLI',
    });
  });

  it('rejects a TEMPORAL_CLI that is not executable', () => {
    expect(() => findTemporalCli({ TEMPORAL_CLI: join(tempDir('none-'), 'temporal') })).toThrow(
      /is not an executable file/,
    );
  });

  it('downloads with the SDK before trying Go, once, then reuses the binary', async () => {
    const [pathDir, toolsBin] = [tempDir('go-path-'), tempDir('tools-')];
    const go = fakeGo(pathDir);
    const lines: string[] = [];
    const env = { PATH: pathDir };
    const downloaded = await ensureTemporalCli({
      env,
      toolsBin,
      log: (line) => lines.push(line),
      download: downloads.succeeds,
    });
    expect(downloaded).toBe(join(toolsBin, 'temporal'));
    expect(lines.join('\n')).toMatch(/downloading it .* with the Temporal SDK \(at most 15 s\)[^]*Downloaded/);
    expect(await ensureTemporalCli({ env, toolsBin, log: () => {}, download: downloads.fails })).toBe(downloaded);
    expect(go.calls()).toBe('');
  });

  it('builds with "go install" into the tools folder when the download fails', async () => {
    const [pathDir, toolsBin] = [tempDir('go-path-'), tempDir('tools-')];
    const go = fakeGo(pathDir);
    const lines: string[] = [];
    const built = await ensureTemporalCli({
      env: { PATH: pathDir },
      toolsBin,
      log: (line) => lines.push(line),
      download: downloads.fails,
    });
    expect(built).toBe(join(toolsBin, 'temporal'));
    expect(lines.join('\n')).toMatch(/The download failed \(dns error: temporal.download not found\)[^]*a few minutes/);
    expect(go.calls()).toBe('install github.com/temporalio/cli/cmd/temporal@v1.5.1\n');
  });

  it('gives up on a download that does not answer within its bound, aborts it, and builds with Go', async () => {
    const [pathDir, toolsBin] = [tempDir('go-path-'), tempDir('tools-')];
    const go = fakeGo(pathDir);
    const { download, calls } = downloads.hangs();
    const lines: string[] = [];
    const built = await ensureTemporalCli({
      env: { PATH: pathDir },
      toolsBin,
      log: (line) => lines.push(line),
      download,
      downloadTimeoutMs: 50,
    });
    expect(built).toBe(join(toolsBin, 'temporal'));
    expect(calls.aborted).toBe(1);
    expect(lines.join('\n')).toContain('The download failed (no answer within 0.05 s)');
    expect(go.calls()).toBe('install github.com/temporalio/cli/cmd/temporal@v1.5.1\n');
  });

  it('bounds the download at 15 s by default', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { download, calls } = downloads.hangs();
    const outcome = failureOf(
      ensureTemporalCli({
        env: { PATH: tempDir('empty-path-') },
        toolsBin: tempDir('tools-'),
        log: () => {},
        download,
      }),
    );
    // The bound's timer is set before the download starts.
    await calls.started;
    await vi.advanceTimersByTimeAsync(14_999);
    expect(calls.aborted).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect((await outcome).message).toContain('download from temporal.download: no answer within 15 s\n');
    expect(calls.aborted).toBe(1);
  });

  it('lists every option, in order, when neither the download nor Go works', async () => {
    const error = await failureOf(
      ensureTemporalCli({
        env: { PATH: tempDir('empty-path-') },
        toolsBin: tempDir('tools-'),
        log: () => {},
        download: downloads.fails,
      }),
    );
    expect(error.message).toMatch(EVERY_OPTION_IN_ORDER);
    expect(error.message).toContain('temporal.download: dns error: temporal.download not found\n');
    expect(error.message).toContain('temporal@v1.5.1: no Go toolchain on PATH\n');
  });

  it('reports a failed build with the end of its output, after every option', async () => {
    const pathDir = tempDir('go-fail-');
    script(pathDir, 'go', '[ "$1" = version ] && exit 0\necho "module lookup disabled" >&2\nexit 1');
    const error = await failureOf(
      ensureTemporalCli({
        env: { PATH: pathDir },
        toolsBin: tempDir('tools-'),
        log: () => {},
        download: downloads.fails,
      }),
    );
    expect(error.message).toMatch(EVERY_OPTION_IN_ORDER);
    expect(error.message).toMatch(/temporal@v1\.5\.1: failed \(exit 1\):\n\s+module lookup disabled\n/);
  });
});

describe("the Temporal SDK's download", () => {
  /** A proxy that accepts connections and never answers, as a network that swallows packets. */
  async function silentProxy(): Promise<{ url: string; sockets: Socket[]; server: Server }> {
    const sockets: Socket[] = [];
    // Read from (and the data dropped), so that the socket sees its peer close.
    const server = createServer((socket) => sockets.push(socket.resume()));
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${port}`, sockets, server };
  }

  it("fails fast, with the SDK's reason, when temporal.download cannot be reached", async () => {
    // A proxy that refuses connections: unreachable on any machine, connected or not.
    const refusing = `http://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const error = await failureOf(
      ensureTemporalCli({
        env: { PATH: tempDir('empty-path-'), HTTPS_PROXY: refusing, https_proxy: refusing },
        toolsBin: tempDir('tools-'),
        log: () => {},
      }),
    );
    expect(error.message).toMatch(EVERY_OPTION_IN_ORDER);
    expect(error.message).toMatch(/temporal\.download: Failed to start ephemeral server: failed to download/);
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 30_000);

  it('is stopped by an abort: its process ends (its connection closes) and its folder is removed', async () => {
    const proxy = await silentProxy();
    const toolsBin = tempDir('tools-');
    const controller = new AbortController();
    try {
      const download = downloadWithSdk(join(toolsBin, 'temporal'), controller.signal, {
        ...process.env,
        HTTPS_PROXY: proxy.url,
        https_proxy: proxy.url,
      });
      await until(
        async () => proxy.sockets.length,
        (n) => n > 0,
        'the download to connect to the proxy',
        20_000,
      );
      const closed = new Promise((resolve) => proxy.sockets[0]!.on('close', resolve));
      controller.abort();
      await download;
      await closed;
      expect(readdirSync(toolsBin)).toEqual([]);
    } finally {
      proxy.server.close();
    }
  }, 30_000);
});
