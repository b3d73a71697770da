import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureTemporalCli, findTemporalCli, NO_TEMPORAL_CLI_MESSAGE } from '../src/dev/temporalCli.js';

const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

function script(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

describe('finding the Temporal CLI', () => {
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

  it('says how to install the CLI when there is neither a binary nor Go', async () => {
    const env = { PATH: tempDir('empty-path-') };
    await expect(ensureTemporalCli({ env, toolsBin: tempDir('tools-'), log: () => {} })).rejects.toThrow(
      NO_TEMPORAL_CLI_MESSAGE,
    );
  });

  it('builds with "go install" into the tools folder once, then reuses the binary', async () => {
    const [pathDir, toolsBin] = [tempDir('go-path-'), tempDir('tools-')];
    const calls = join(pathDir, 'calls');
    // A stand-in for Go that records its arguments and "installs" a binary into $GOBIN.
    script(
      pathDir,
      'go',
      `[ "$1" = version ] && exit 0\necho "$@" >> ${calls}\nprintf '#!/bin/sh\\n' > "$GOBIN/temporal" && /bin/chmod +x "$GOBIN/temporal"`,
    );
    const lines: string[] = [];
    const env = { PATH: pathDir };
    const built = await ensureTemporalCli({ env, toolsBin, log: (line) => lines.push(line) });
    expect(built).toBe(join(toolsBin, 'temporal'));
    expect(lines.join('\n')).toMatch(/takes a few minutes/);
    expect(await ensureTemporalCli({ env, toolsBin, log: () => {} })).toBe(built);
    expect(readFileSync(calls, 'utf8')).toBe('install github.com/temporalio/cli/cmd/temporal@v1.5.1\n');
  });

  it('reports a failed build with the end of its output', async () => {
    const pathDir = tempDir('go-fail-');
    script(pathDir, 'go', '[ "$1" = version ] && exit 0\necho "module lookup disabled" >&2\nexit 1');
    await expect(
      ensureTemporalCli({ env: { PATH: pathDir }, toolsBin: tempDir('tools-'), log: () => {} }),
    ).rejects.toThrow(/failed \(exit 1\):\nmodule lookup disabled/);
  });
});
