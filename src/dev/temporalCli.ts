import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { UserError } from '../errors.js';
import { PROJECT_ROOT } from './projectRoot.js';

/** The newest release that `go install` accepts (later ones carry `replace` directives). */
const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';
const TOOLS_BIN = join(PROJECT_ROOT, '.tools', 'bin');

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command: string, env: NodeJS.ProcessEnv): string | undefined {
  return (env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, command))
    .find(isExecutable);
}

export type TemporalCliSource = 'TEMPORAL_CLI' | 'tools folder' | 'PATH';

/** Finds a `temporal` binary: `TEMPORAL_CLI`, then the project's tools folder, then `PATH`. */
export function findTemporalCli(
  env: NodeJS.ProcessEnv = process.env,
  toolsBin = TOOLS_BIN,
): { path: string; source: TemporalCliSource } | null {
  if (env.TEMPORAL_CLI) {
    if (!isExecutable(env.TEMPORAL_CLI)) {
      throw new UserError(`TEMPORAL_CLI=${env.TEMPORAL_CLI} is not an executable file. Fix the path or unset it.`);
    }
    return { path: env.TEMPORAL_CLI, source: 'TEMPORAL_CLI' };
  }
  const local = join(toolsBin, 'temporal');
  if (isExecutable(local)) return { path: local, source: 'tools folder' };
  const found = onPath('temporal', env);
  return found ? { path: found, source: 'PATH' } : null;
}

const INSTALL_HINT =
  'Install the Temporal CLI (e.g. "brew install temporal", or a release binary from Temporal) and put it ' +
  'on PATH or set TEMPORAL_CLI=/path/to/temporal';

export const NO_TEMPORAL_CLI_MESSAGE =
  `No Temporal CLI found and no Go toolchain to build it. ${INSTALL_HINT}, ` +
  `or install Go 1.23+ so that the project can run "go install ${TEMPORAL_CLI_MODULE}".`;

/**
 * Returns a `temporal` binary, building the official CLI into the git-ignored tools folder
 * the first time (a few minutes, once per checkout; Go's caches make later builds faster).
 */
export async function ensureTemporalCli(
  options: { env?: NodeJS.ProcessEnv; toolsBin?: string; log?: (line: string) => void } = {},
): Promise<string> {
  const env = options.env ?? process.env;
  const toolsBin = options.toolsBin ?? TOOLS_BIN;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const found = findTemporalCli(env, toolsBin);
  if (found) return found.path;
  const go = onPath('go', env);
  if (!go || spawnSync(go, ['version'], { env }).status !== 0) throw new UserError(NO_TEMPORAL_CLI_MESSAGE);

  log(`Building the Temporal CLI (${TEMPORAL_CLI_MODULE}) into ${toolsBin}.`);
  log('This happens once per checkout and takes a few minutes on a fresh machine...');
  const started = Date.now();
  const ticker = setInterval(() => log(`  still building (${Math.round((Date.now() - started) / 1000)} s)`), 30_000);
  try {
    const output: string[] = [];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(go, ['install', TEMPORAL_CLI_MODULE], {
        env: { ...env, GOBIN: toolsBin },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      child.on('error', reject);
      child.on('close', resolve);
    });
    if (code !== 0) {
      const tail = output.join('').trim().split('\n').slice(-5).join('\n');
      throw new UserError(`"go install ${TEMPORAL_CLI_MODULE}" failed (exit ${code}):\n${tail}\n${INSTALL_HINT}.`);
    }
  } finally {
    clearInterval(ticker);
  }
  log(`Built the Temporal CLI in ${Math.round((Date.now() - started) / 1000)} s.`);
  return join(toolsBin, 'temporal');
}
