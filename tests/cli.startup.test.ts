// What a command loads, in both ways the CLI runs: `tsx src/cli` (every source file a module of
// its own) and the compiled dist/cli (chunks, read back to their sources through the build's
// record). A future import that makes every command load the Temporal worker, Fastify or the
// workflow code fails here rather than slowing every engineer and pipeline down.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_RECORD, buildCli, isCliFresh } from '../src/cli/compile.mjs';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';
import { seedRuns } from './support/seedRuns.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';

/** A module resolution hook that appends every URL the process resolves to the file IMPORTS_FILE names. */
const HOOKS = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(process.env.IMPORTS_FILE, result.url + '\\n');
  return result;
}`;
const RECORDER = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOKS)}`)});`,
)}`;

const FORMS = {
  'tsx src/cli': ['--import', 'tsx', '--import', RECORDER, join(PROJECT_ROOT, 'src/cli/index.ts')],
  'the compiled CLI': ['--import', RECORDER, join(PROJECT_ROOT, 'dist/cli/index.js')],
} as const;
type Form = keyof typeof FORMS;

/** Packages and sources by what they are: every module a URL stands for (a compiled chunk: the sources in it). */
function loadedFrom(urls: string[], outputs: Record<string, string[]>): string[] {
  return urls.flatMap((url) => {
    if (!url.startsWith('file:')) return [];
    const path = fileURLToPath(url);
    const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
    if (pkg) return [pkg[1]!];
    if (path.startsWith(join(PROJECT_ROOT, 'dist/cli/'))) return outputs[basename(path)] ?? [`unknown chunk ${path}`];
    return [path.slice(PROJECT_ROOT.length)];
  });
}

const SLOW_PARTS = [/^@temporalio\/worker$/, /^fastify$/, /^src\/workflows\//];

describe('what a CLI command loads', () => {
  let database: TestDatabase;
  let runId: string;
  let dir: string;
  let outputs: Record<string, string[]> = {};

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-startup-'));
    database = await createTestDatabase();
    runId = await seedRuns(database.pool, 5);
    await buildCli();
    outputs = (JSON.parse(await readFile(BUILD_RECORD, 'utf8')) as { outputs: Record<string, string[]> }).outputs;
  });
  afterAll(async () => {
    await database?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  const builtAt = async () => (JSON.parse(await readFile(BUILD_RECORD, 'utf8')) as { startedAt: number }).startedAt;

  it('runs the compiled CLI from npm run cli, compiled again first when a source changed since', async () => {
    expect(isCliFresh()).toBe(true);
    const changedAt = new Date();
    await utimes(join(PROJECT_ROOT, 'src/cli/lazy.ts'), changedAt, changedAt);
    expect(isCliFresh()).toBe(false);
    const result = await new Promise<{ error: Error | null; stdout: string }>((resolve) =>
      execFile(
        process.execPath,
        [join(PROJECT_ROOT, 'scripts/cli.mjs'), '--help'],
        { cwd: PROJECT_ROOT },
        (error, stdout) => resolve({ error, stdout }),
      ),
    );
    expect(result.error).toBeNull();
    expect(result.stdout).toMatch(/^Usage: npm run cli -- \[options\] \[command\]/);
    expect(isCliFresh()).toBe(true);
    expect(await builtAt()).toBeGreaterThanOrEqual(changedAt.getTime());
  });

  let calls = 0;
  async function run(form: Form, args: string[], env: Record<string, string> = {}) {
    const importsFile = join(dir, `imports-${++calls}.txt`);
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        [...FORMS[form], ...args],
        {
          cwd: PROJECT_ROOT,
          env: { ...process.env, DATABASE_URL: database.url, IMPORTS_FILE: importsFile, ...env },
          timeout: 60_000,
        },
        (error, stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      ),
    );
    const urls = (await readFile(importsFile, 'utf8')).trim().split('\n');
    return { ...result, loaded: [...new Set(loadedFrom(urls, outputs))].sort() };
  }
  const slowParts = (loaded: string[]) => loaded.filter((module) => SLOW_PARTS.some((part) => part.test(module)));

  describe.each(Object.keys(FORMS) as Form[])('%s', (form) => {
    it('answers --help without the Temporal SDK, Fastify, the workflows or the catalog', async () => {
      const { code, stdout, loaded } = await run(form, ['--help']);
      expect(code).toBe(0);
      expect(stdout).toContain('start-runbook');
      expect(slowParts(loaded)).toEqual([]);
      expect(loaded.filter((module) => /^@temporalio\/|^src\/catalog\//.test(module))).toEqual([]);
    });

    it('lists and shows runs from the database without Temporal, Fastify or the workflows', async () => {
      const list = await run(form, ['runs', 'list', '--limit', '50']);
      expect(list.code, list.stderr).toBe(0);
      // Its header and the 5 runs.
      expect(list.stdout.trim().split('\n')).toHaveLength(6);
      const show = await run(form, ['runs', 'show', runId]);
      expect(show.code, show.stderr).toBe(0);
      expect(show.stdout).toContain(`Run ${runId}`);
      for (const { loaded } of [list, show]) {
        expect(loaded).toContain('pg');
        expect(slowParts(loaded)).toEqual([]);
        expect(loaded.filter((module) => module.startsWith('@temporalio/'))).toEqual([]);
      }
    });

    it('sees what a command that needs them loads: the worker loads the SDK and the workflow code', async () => {
      const { code, stderr, loaded } = await run(form, ['worker'], {
        DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nothing_listens_here',
      });
      expect(code, stderr).toBe(3);
      expect(loaded).toContain('@temporalio/worker');
      expect(loaded.some((module) => module.startsWith('src/workflows/'))).toBe(true);
    });
  });
});
