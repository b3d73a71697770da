import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../src/errors.js';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';
import type { Figures as UrlFigures } from '../scripts/measure-console-load.js';
import { startProfile, type Profile } from './profile.js';

export interface ConsoleFigures {
  runs: number;
  connections: number;
  durationSeconds: number;
  /** The polled run's progress writes per second during each URL's load, as a worker running it makes them. */
  writesPerSecond: number;
  results: UrlFigures[];
  /** The sign-in page under the same load: no session, no database read, the floor of the URLs above on this machine. */
  floor: UrlFigures;
  notes: string[];
  /**
   * From the first URL's load to the figures. `console` is the script's process: the console
   * and, in a worker thread of it, autocannon.
   */
  profile: Profile | null;
}

/**
 * Item 8 through `npm run measure:console` (scripts/measure-console-load.ts) in a child process
 * with its JSON output: it seeds a scratch database of its own, serves the console and drops
 * the database again, also when stopped. Any non-2xx answer stays in the figures (and misses the
 * targets) rather than ending the bench.
 */
export async function measureConsoleLoad(
  options: { runs: number; connections: number; durationSeconds: number; logFile: string; serverUrl: string },
  signal: AbortSignal,
): Promise<ConsoleFigures> {
  const args = [
    '--runs',
    String(options.runs),
    '--connections',
    String(options.connections),
    '--duration',
    String(options.durationSeconds),
    '--json',
  ];
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(PROJECT_ROOT, 'scripts/measure-console-load.ts'), ...args],
    {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal,
      killSignal: 'SIGTERM',
    },
  );
  const log = createWriteStream(options.logFile);
  child.stderr.pipe(log);
  // The script names its scratch database after its pid, and says when the load begins.
  const load: { profiler?: ReturnType<typeof startProfile> } = {};
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    if (load.profiler || !chunk.includes('measuring ')) return;
    load.profiler = startProfile({
      serverUrl: options.serverUrl,
      database: `platform_ops_load_${child.pid}`,
      processes: { console: [child.pid!] },
    });
    load.profiler.catch(() => {});
  });
  // The figures come in one write once every URL is measured: the profile ends there, before
  // the script cleans up (and while its process can still be read).
  let stdout = '';
  let profile: Promise<Profile | null> = Promise.resolve(null);
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    if (!stdout && load.profiler) profile = load.profiler.then((profiler) => profiler.stop()).catch(() => null);
    stdout += chunk;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', (error) => (signal.aborted ? resolve(null) : reject(error)));
    child.on('close', resolve);
  });
  log.end();
  try {
    return { ...(JSON.parse(stdout) as Omit<ConsoleFigures, 'profile'>), profile: await profile };
  } catch {
    throw new UserError(
      `the console load measurement exited ${code} without its figures; its log is ${options.logFile}`,
    );
  }
}
