// `--json` on every command: each one the CLI registers declares it and is run with it here, so
// that a new command without it, or without an example below, fails this file.
import { copyFile, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildProgram } from '../src/cli/program.js';
import { cliInitiator } from '../src/cli/initiator.js';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';
import { createChangeWindow } from '../src/runbooks/windows/changeWindows.js';
import { runCli } from './support/cli.js';
import { LIFECYCLE, useRunbookHarness } from './support/harness.js';
import { waitForRun } from './support/runs.js';
import { failTenants } from './support/slowBatches.js';

const REASON = 'Checking that every command speaks JSON';
/** A deny window far off, so that it holds none of the runs the examples start. */
const FAR_OFF_WINDOW = { kind: 'deny', schedule: '2099-01-01T00:00:00', durationMinutes: 1440, timeZone: 'UTC' };

/** The commands that do something (not the groups that hold them), by their words: `runs list`. */
function commandsOf(command: Command, words: string[] = []): Array<{ name: string; command: Command }> {
  return command.commands.flatMap((sub) =>
    sub.commands.length
      ? commandsOf(sub, [...words, sub.name()])
      : [{ name: [...words, sub.name()].join(' '), command: sub }],
  );
}

/**
 * How each command is run here, with --json added, and how it ends: `json` with this exit code
 * (its standard output is one JSON document), or refused with exit 2 by the rules, not for the option.
 */
type Example = { args: string[]; env?: Record<string, string> } & (
  { json: number } | { refused: RegExp; exit: number }
);

describe('--json', () => {
  const h = useRunbookHarness({ seed: { tenants: 3, findingsPerTenant: 10, seed: 43 } });
  const env = () => ({
    DATABASE_URL: h.database.url,
    TEMPORAL_ADDRESS: h.config.temporal.address,
    TEMPORAL_TASK_QUEUE: h.config.temporal.taskQueue,
  });
  let runId: string;
  let changeId: string;
  let windowId: number;
  let root: string;

  beforeAll(async () => {
    // A completed run with a failed tenant: what show, follow, export and retry-failed work on.
    const { rows } = await h.database.pool.query(`SELECT id FROM tenants WHERE external_id = 'tenant-00003'`);
    const restore = await failTenants(h.database.pool, [rows[0].id], 'refused by the test');
    try {
      runId = (await h.start({ kind: 'all_tenants' }, { runbook: LIFECYCLE })).run.id;
      expect((await waitForRun(h.database.pool, runId)).outcome).toBe('partially_succeeded');
    } finally {
      await restore();
    }
    // An all-tenants start the approval policy holds: the change request the `changes` commands work on.
    const filed = await runCli(
      [
        'start-runbook',
        'findings-lifecycle',
        '--all-tenants',
        '--confirm',
        'ALL TENANTS',
        '--reason',
        REASON,
        '--json',
      ],
      { ...env(), APPROVALS: 'all_tenants:1' },
    );
    expect(filed.code, filed.stderr).toBe(0);
    changeId = JSON.parse(filed.stdout).changeRequest.id;
    // A change window that never holds a run here (one day in 2099): what `windows delete` deletes.
    windowId = (
      await createChangeWindow(h.database.pool, {
        initiator: cliInitiator(),
        window: { ...FAR_OFF_WINDOW, description: REASON },
      })
    ).id;
    // What `runbook new` needs of a project: its catalog and its formatting settings.
    root = await mkdtemp(join(tmpdir(), 'cli-json-'));
    await mkdir(join(root, 'src/catalog'), { recursive: true });
    for (const file of ['src/catalog/index.ts', '.prettierrc.json', '.editorconfig']) {
      await copyFile(join(PROJECT_ROOT, file), join(root, file));
    }
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  const completed = /^error: Run [0-9a-f-]{36} is already completed \(partially.succeeded\)/;
  const examples = (): Record<string, Example> => ({
    'start-runbook': {
      args: ['start-runbook', 'findings-lifecycle', '--tenant', 'tenant-00001', '--preflight-only'],
      json: 0,
    },
    'runbooks list': { args: ['runbooks', 'list'], json: 0 },
    'runbook new': { args: ['runbook', 'new', 'archive-old-findings', '--root', root], json: 0 },
    'runs list': { args: ['runs', 'list'], json: 0 },
    'runs show': { args: ['runs', 'show', runId], json: 0 },
    // Exit 1: the run it followed to its end did not succeed.
    'runs follow': { args: ['runs', 'follow', runId], json: 1 },
    'runs export': { args: ['runs', 'export', runId], json: 0 },
    'runs retry-failed': { args: ['runs', 'retry-failed', runId, '--reason', REASON], json: 0 },
    'runs tune': {
      args: ['runs', 'tune', runId, '--parallelism', '2', '--reason', REASON],
      refused: completed,
      exit: 2,
    },
    'runs cancel': { args: ['runs', 'cancel', runId], refused: completed, exit: 2 },
    'runs pause': { args: ['runs', 'pause', runId], refused: completed, exit: 2 },
    'runs resume': { args: ['runs', 'resume', runId], refused: completed, exit: 2 },
    // Refused, so that no stop holds the examples after them (runbooks.stopAll.test.ts stops and lifts).
    'runs stop-all': {
      args: ['runs', 'stop-all', '--reason', REASON],
      refused: /^error: Stopping every run needs the typed confirmation "STOP ALL RUNS" exactly\.\n$/,
      exit: 2,
    },
    'runs resume-all': {
      args: ['runs', 'resume-all', '--reason', REASON],
      refused: /^error: No stop holds: every run goes on as it was\.\n$/,
      exit: 2,
    },
    'changes list': { args: ['changes', 'list', '--all'], json: 0 },
    'changes show': { args: ['changes', 'show', changeId], json: 0 },
    // As the CLI that filed it.
    'changes withdraw': { args: ['changes', 'withdraw', changeId], json: 0 },
    // Refused before the password is read (this runner gives no standard input): cli.changes.test.ts signs in.
    'changes approve': {
      args: ['changes', 'approve', changeId, '--as', 'json@example.com', '--comment', REASON],
      refused: /^error: --as needs --password-stdin, the password on standard input: /,
      exit: 2,
    },
    'changes reject': {
      args: ['changes', 'reject', changeId, '--as', 'json@example.com', '--comment', REASON],
      refused: /^error: --as needs --password-stdin, the password on standard input: /,
      exit: 2,
    },
    'windows list': { args: ['windows', 'list'], json: 0 },
    // In 2099, and for one runbook: it holds none of the runs started here.
    'windows create': {
      args: [
        'windows',
        'create',
        '--kind',
        FAR_OFF_WINDOW.kind,
        '--schedule',
        FAR_OFF_WINDOW.schedule,
        '--duration',
        '1d',
        '--time-zone',
        FAR_OFF_WINDOW.timeZone,
        '--runbook',
        'tenant-finding-stats',
        '--description',
        REASON,
      ],
      json: 0,
    },
    'windows delete': { args: ['windows', 'delete', String(windowId)], json: 0 },
    'deploy-hook': { args: ['deploy-hook', '--release', 'json-1'], json: 0 },
    // Its JSON log lines are cli.worker.test.ts's; here it has no Temporal to poll.
    worker: {
      args: ['worker', '--workflow-bundle', inject('workflowBundlePath')],
      env: { TEMPORAL_ADDRESS: '127.0.0.1:1' },
      refused: /^error: Cannot reach Temporal at 127\.0\.0\.1:1 /,
      exit: 3,
    },
    'db migrate': { args: ['db', 'migrate'], json: 0 },
    seed: { args: ['seed', '--tenants', '1', '--findings-per-tenant', '1'], json: 0 },
    'platform-user create': {
      args: ['platform-user', 'create', '--email', 'json@example.com', '--capability', 'platform.ops.runs.view'],
      json: 0,
    },
    'customer-user create': {
      args: ['customer-user', 'create', '--email', 'json@example.com', '--tenant', 'tenant-00001'],
      json: 0,
    },
  });

  it('is declared by every command, and every command has an example here', async () => {
    // With start-runbook on the command line, the CLI registers it with the catalog's runbooks.
    const commands = commandsOf(await buildProgram(['node', 'cli', 'start-runbook']));
    const withoutJson = commands.filter(({ command }) => !command.options.some((option) => option.long === '--json'));
    expect(withoutJson.map(({ name }) => name)).toEqual([]);
    expect(commands.map(({ name }) => name).sort()).toEqual(Object.keys(examples()).sort());
  });

  it('gives each command machine-readable output, or is refused for what was asked', async () => {
    // One after the other, in this order: retry-failed's run is over its tenant before deploy-hook's is over all.
    for (const [name, example] of Object.entries(examples())) {
      const result = await runCli([...example.args, '--json'], { ...env(), ...example.env });
      if ('json' in example) {
        expect({ name, code: result.code }, result.stderr).toEqual({ name, code: example.json });
        expect(() => JSON.parse(result.stdout), `${name}: ${result.stdout}`).not.toThrow();
      } else {
        expect({ name, code: result.code, stdout: result.stdout }).toEqual({ name, code: example.exit, stdout: '' });
        expect(result.stderr, name).toMatch(example.refused);
      }
    }
  }, 180_000);

  it('runs export: the export as JSON on stdout; with --output, what was written where', async () => {
    const exported = await runCli(['runs', 'export', runId, '--json'], env());
    expect(exported.code, exported.stderr).toBe(0);
    expect(JSON.parse(exported.stdout)).toMatchObject({ run: { id: runId }, items: expect.any(Array) });

    const file = join(root, 'export.csv');
    const written = await runCli(['runs', 'export', runId, '--format', 'csv', '--output', file, '--json'], env());
    expect(written.code, written.stderr).toBe(0);
    expect(JSON.parse(written.stdout)).toEqual({
      runId,
      format: 'csv',
      output: file,
      items: 3,
      auditEvents: expect.any(Number),
    });
    expect((await readFile(file, 'utf8')).split('\r\n')[0]).toBe(
      'record,at,tenant,status,examined,changed,action,actor,detail',
    );

    // Standard output cannot be both CSV and JSON.
    const both = await runCli(['runs', 'export', runId, '--format', 'csv', '--json'], env());
    expect(both).toMatchObject({ code: 2, stdout: '' });
    expect(both.stderr).toBe(
      'error: --json prints the export as JSON, not as csv; leave out --json, or add --output <file> to write the csv there.\n',
    );
  });

  it('runbook new: the names and the files it wrote', async () => {
    const result = await runCli(['runbook', 'new', 'close-old-findings', '--root', root, '--json'], env());
    expect(result.code, result.stderr).toBe(0);
    const scaffold = JSON.parse(result.stdout);
    expect(scaffold).toMatchObject({
      name: 'close-old-findings',
      id: 'close.old.findings',
      root,
      registeredIn: 'src/catalog/index.ts',
    });
    expect(scaffold.files).toContain('src/catalog/close-old-findings/definition.ts');
    for (const file of scaffold.files) expect((await stat(join(root, file))).isFile(), file).toBe(true);
  });
});
