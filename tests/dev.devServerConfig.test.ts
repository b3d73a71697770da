import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { devServerArgs, loadDevServerConfig } from '../src/dev/devServerConfig.js';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';

const config = loadDevServerConfig(join(PROJECT_ROOT, 'temporal-dev.yaml'));

function flagValues(args: string[], flag: string): string[] {
  return args.flatMap((arg, i) => (arg === flag ? [args[i + 1]!] : []));
}

describe('temporal-dev.yaml → temporal server start-dev', () => {
  it('runs the file-backed store with the WAL pragmas under the git-ignored data folder', () => {
    const args = devServerArgs(config, { projectRoot: '/srv/app' });
    expect(args.slice(0, 2)).toEqual(['server', 'start-dev']);
    expect(flagValues(args, '--db-filename')).toEqual(['/srv/app/.data/temporal/dev.sqlite']);
    expect(flagValues(args, '--sqlite-pragma')).toEqual(['journal_mode=WAL', 'synchronous=NORMAL']);
    expect(flagValues(args, '--port')).toEqual(['7233']);
    expect(flagValues(args, '--ui-port')).toEqual(['8233']);
    expect(flagValues(args, '--search-attribute')).toEqual([
      'OperationRunId=Keyword',
      'Runbook=Keyword',
      'TenantExternalId=Keyword',
    ]);
    expect(flagValues(args, '--dynamic-config-value')).toContain('frontend.enableUpdateWorkflowExecution=true');
  });

  it('runs in memory, headless, on given ports for tests', () => {
    const args = devServerArgs(config, { inMemory: true, port: 1234, uiPort: null, httpPort: 5, metricsPort: 6 });
    expect(args).not.toContain('--db-filename');
    expect(args).not.toContain('--sqlite-pragma');
    expect(args).toContain('--headless');
    expect(flagValues(args, '--port')).toEqual(['1234']);
    expect(flagValues(args, '--http-port')).toEqual(['5']);
  });

  it('rejects an unknown search attribute type, naming the file and the allowed types', () => {
    const path = join(tmpdir(), `temporal-dev-${process.pid}.yaml`);
    writeFileSync(path, 'searchAttributes:\n  Foo: Number\n');
    expect(() => loadDevServerConfig(path)).toThrow(
      `${path}: search attribute Foo has type Number; use one of Text, Keyword`,
    );
  });
});
