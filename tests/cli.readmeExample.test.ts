// The README's first CLI example, run as written on the data `npm start` seeds, and the tenant
// names the CLI's `--tenant` takes besides external ids.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';
import { runCli } from './support/cli.js';
import { useRunbookHarness } from './support/harness.js';

/** The demo data of `npm start` (src/dev/start.ts, DEMO): its tenants' names come from the seed. */
const DEMO = { tenants: 20, findingsPerTenant: 1_000, seed: 1 };

/** The README's first `start-runbook` example, as the arguments after `npm run cli --`. */
function firstReadmeExample(): string[] {
  const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
  const line = readme.split('\n').find((text) => text.startsWith('npm run cli -- start-runbook '));
  if (!line) throw new Error('the README has no `npm run cli -- start-runbook` example');
  // Words and "quoted phrases", as a shell splits this line; a comment ends it.
  const words = [...line.replace(/\s+#.*$/, '').matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
  return words.slice(['npm', 'run', 'cli', '--'].length);
}

describe('the README’s first CLI example on the demo data', () => {
  const h = useRunbookHarness({ seed: DEMO });
  const env = (): Record<string, string> => ({
    DATABASE_URL: h.database.url,
    TEMPORAL_ADDRESS: h.config.temporal.address,
    TEMPORAL_TASK_QUEUE: h.config.temporal.taskQueue,
  });

  it('starts a one-tenant run and, with --wait, exits 0 when it succeeds', async () => {
    const args = firstReadmeExample();
    expect(args.slice(0, 2)).toEqual(['start-runbook', 'findings-lifecycle']);
    expect(args).toContain('--wait');
    const result = await runCli([...args, '--json'], env());
    expect(result.stderr.split('\n').filter((line) => line.startsWith('error'))).toEqual([]);
    expect(result.code).toBe(0);
    const { run } = JSON.parse(result.stdout);
    expect(run).toMatchObject({ status: 'completed', outcome: 'succeeded', scopeKind: 'tenant' });
  });

  it('takes a tenant’s exact name, whatever its case, as --tenant', async () => {
    const result = await runCli(
      ['start-runbook', 'findings-lifecycle', '--tenant', 'acme FOODS', '--preflight-only', '--json'],
      env(),
    );
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const { report } = JSON.parse(result.stdout);
    expect(report).toMatchObject({ tenantsInScope: 1, scope: { description: 'tenant-00011' } });
  });

  it('refuses an unknown tenant with exit 2, one line and what it may have meant', async () => {
    const runs = async () =>
      (await h.database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM operation_runs')).rows[0]!.n;
    const before = await runs();
    const result = await runCli(
      ['start-runbook', 'findings-lifecycle', '--tenant', 'acme', '--reason', 'Backfill after rules v1'],
      env(),
    );
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'error: Unknown tenant: acme. Did you mean tenant-00011 (Acme Foods)? ' +
        'Name a tenant by its external id or its exact name.\n',
    );
    expect(await runs()).toBe(before);
  });
});
