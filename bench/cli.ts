// `npm run bench -- --cli`: how long the CLI takes before it answers, the way engineers and deploy
// pipelines run it. Wall time of whole processes, the median of five, for each way of running it.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import type pg from 'pg';
import { cliInitiator } from '../src/cli/initiator.js';
import { buildCli, CLI_ENTRY } from '../src/cli/compile.mjs';
import { PLATFORM_TENANT_EXTERNAL_ID } from '../src/db/schema/tenancy.js';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';
import { runPreflight } from '../src/runbooks/preflight.js';
import { getRunbook } from '../src/runbooks/registry.js';
import { seedRuns } from '../tests/support/seedRuns.js';
import { round } from './profile.js';

const TIMES = 5;
const RUNS = 50;
const PREFLIGHT_RUNBOOK = 'findings-lifecycle';

/** The ways the CLI runs, as argv prefixes: `node -e 1` is the floor, a process that does nothing. */
const WAYS = {
  tsx: [join(PROJECT_ROOT, 'node_modules/.bin/tsx'), join(PROJECT_ROOT, 'src/cli')],
  compiled: [process.execPath, CLI_ENTRY],
  'npm run cli': ['npm', 'run', '--silent', 'cli', '--'],
} as const;
type Way = keyof typeof WAYS;

interface CliCommandFigures {
  command: string;
  /** Median wall seconds per way of running it. */
  seconds: Record<Way, number>;
}

export interface CliFigures {
  times: number;
  runsInDatabase: number;
  floorSeconds: number;
  commands: CliCommandFigures[];
  /** The preflight alone, in this process through the engine, on the tenant the CLI's preflight uses. */
  preflight: { tenant: string; findings: number; engineSeconds: number; compiledSeconds: number };
  /** `deploy-hook --release <new>` compiled, against a dev server and a worker: signal, then wait until its runs start. */
  deployHook: { compiledSeconds: number };
  targets: Array<{ figure: string; value: number; target: string; met: boolean }>;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** One process's wall time; any exit but 0 ends the bench, with what it printed. */
async function wallSeconds(argv: readonly string[], env: Record<string, string>): Promise<number> {
  const started = performance.now();
  const [command, ...args] = argv;
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(command!, args, { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, stdio: 'pipe' });
    let output = '';
    child.stdout.on('data', () => undefined);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ code: exitCode, output }));
  });
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`${argv.join(' ')} exited with ${code}: ${output.trim().slice(-500)}`);
  return seconds;
}

async function medianWall(argv: readonly string[], env: Record<string, string>): Promise<number> {
  const seconds: number[] = [];
  for (let i = 0; i < TIMES; i++) seconds.push(await wallSeconds(argv, env));
  return round(median(seconds));
}

/** Until no run is queued or running: releases come minutes apart, each after the last one's runs. */
async function untilIdle(pool: pg.Pool): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { rows } = await pool.query<{ active: number }>(
      `SELECT count(*)::int AS active FROM operation_runs WHERE status IN ('queued', 'running')`,
    );
    if (rows[0]!.active === 0) return;
    if (Date.now() > deadline) throw new Error('the deploy runs did not finish within 2 minutes');
    await sleep(200);
  }
}

/** `deploy-hook --release <new>`, compiled: it signals the deploy workflow and returns once the release's runs started. */
async function deployHookSeconds(pool: pg.Pool, env: Record<string, string>): Promise<number> {
  const seconds: number[] = [];
  for (let i = 0; i < TIMES; i++) {
    await untilIdle(pool);
    seconds.push(
      await wallSeconds([process.execPath, CLI_ENTRY, 'deploy-hook', '--release', `bench-cli-${Date.now()}`], env),
    );
  }
  await untilIdle(pool);
  return round(median(seconds));
}

/**
 * The figures on `databaseUrl`, a copy of a seeded template whose runs a worker on
 * `temporal` executes: the deploy hook's first, then, with 50 runs added, the other commands'.
 */
export async function measureCli(options: {
  pool: pg.Pool;
  databaseUrl: string;
  temporal: { address: string };
  say: (line: string) => void;
}): Promise<CliFigures> {
  const { pool, databaseUrl, say } = options;
  const env = { DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: options.temporal.address };
  const deployHook = { compiledSeconds: await deployHookSeconds(pool, env) };
  // After the deploy hook's runs: these include active runs, which a deploy run would wait for.
  const runId = await seedRuns(pool, RUNS);
  const { rows } = await pool.query<{ external_id: string; findings: number }>(
    `SELECT t.external_id, count(f.id)::int AS findings
       FROM tenants t JOIN findings f ON f.tenant_id = t.id
      WHERE t.external_id <> $1
      GROUP BY t.id ORDER BY t.id LIMIT 1`,
    [PLATFORM_TENANT_EXTERNAL_ID],
  );
  const tenant = rows[0]!;
  await buildCli();

  const floorSeconds = await medianWall([process.execPath, '-e', '1'], env);
  const preflightArgs = ['start-runbook', PREFLIGHT_RUNBOOK, '--tenant', tenant.external_id, '--preflight-only'];
  const commands: CliCommandFigures[] = [];
  for (const args of [['--help'], ['runs', 'list', '--limit', String(RUNS)], ['runs', 'show', runId], preflightArgs]) {
    const seconds = {} as Record<Way, number>;
    for (const way of Object.keys(WAYS) as Way[]) seconds[way] = await medianWall([...WAYS[way], ...args], env);
    const command =
      args === preflightArgs ? `${args.slice(0, 2).join(' ')} --tenant <one> --preflight-only` : args.join(' ');
    commands.push({ command: command.replace(runId, '<id>'), seconds });
    say(`   ${commands.at(-1)!.command}: ${JSON.stringify(seconds)}`);
  }

  const engine: number[] = [];
  for (let i = 0; i < TIMES; i++) {
    const started = performance.now();
    await runPreflight(pool, {
      runbook: getRunbook(PREFLIGHT_RUNBOOK),
      scope: { kind: 'tenants', externalIds: [tenant.external_id] },
      initiator: cliInitiator(),
    });
    engine.push((performance.now() - started) / 1000);
  }
  const preflight = {
    tenant: tenant.external_id,
    findings: tenant.findings,
    engineSeconds: round(median(engine)),
    compiledSeconds: commands.at(-1)!.seconds.compiled,
  };

  const compiled = (command: string) => commands.find((entry) => entry.command.startsWith(command))!.seconds.compiled;
  const targets = [
    { figure: 'compiled --help (s)', value: compiled('--help'), target: '≤ 0.25', met: compiled('--help') <= 0.25 },
    {
      figure: 'compiled runs list (s)',
      value: compiled('runs list'),
      target: '≤ 0.5',
      met: compiled('runs list') <= 0.5,
    },
    {
      figure: 'compiled preflight − engine preflight (s)',
      value: round(preflight.compiledSeconds - preflight.engineSeconds),
      target: '≤ 0.5',
      met: preflight.compiledSeconds - preflight.engineSeconds <= 0.5,
    },
  ];
  return { times: TIMES, runsInDatabase: RUNS, floorSeconds, commands, preflight, deployHook, targets };
}

/** The terminal's table of the figures. */
export function formatCliFigures(figures: CliFigures): string {
  const ways = Object.keys(WAYS) as Way[];
  const rows = [
    ['command', ...ways, 'node -e 1'],
    ...figures.commands.map((entry) => [
      entry.command,
      ...ways.map((way) => entry.seconds[way].toFixed(2)),
      figures.floorSeconds.toFixed(2),
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const table = rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ')).join('\n');
  return [
    `CLI wall time, median of ${figures.times} runs, seconds (${figures.runsInDatabase} runs in the database):`,
    table,
    `preflight of ${figures.preflight.tenant} (${figures.preflight.findings.toLocaleString('en-US')} findings): ` +
      `${figures.preflight.engineSeconds.toFixed(2)} s in the engine, ${figures.preflight.compiledSeconds.toFixed(2)} s from the compiled CLI`,
    `deploy-hook (compiled, until its runs start): ${figures.deployHook.compiledSeconds.toFixed(2)} s`,
    'Targets:',
    ...figures.targets.map(
      (target) => `  ${target.figure}: ${target.value} (target ${target.target}) ${target.met ? 'met' : 'MISSED'}`,
    ),
  ].join('\n');
}
