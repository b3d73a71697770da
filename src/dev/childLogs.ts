// Where the logs of `npm start`'s children go: each to its file under the logs folder, and to the
// terminal only the lines at or above a threshold (warnings and errors unless LOG_LEVEL or
// --verbose say otherwise), so that a healthy start fits on a screen.
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { ConfigError } from '../config.js';

/**
 * pino's levels, which LOG_LEVEL names for the console too, by rank. The worker's (the SDK's
 * TRACE … ERROR) and the dev server's (DEBUG … FATAL) are the same names in capitals.
 */
const RANKS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: 70 };

/** The lowest level the terminal shows: LOG_LEVEL, else info with --verbose, else warn. */
export function terminalThreshold(logLevel: string | undefined, verbose: boolean): number {
  if (logLevel && RANKS[logLevel] === undefined) {
    throw new ConfigError(`LOG_LEVEL must be one of ${Object.keys(RANKS).join(', ')}, got "${logLevel}"`);
  }
  return RANKS[logLevel || (verbose ? 'info' : 'warn')]!;
}

/**
 * The rank of a line's level: `level` of a JSON line (the worker's `--json` log), `level=` of a
 * logfmt one (the dev server's); `otherwise` for a line without one. A level of another name
 * (the dev server's DPANIC, PANIC) ranks as an error.
 */
export function rankOf(line: string, otherwise: 'info' | 'error'): number {
  let level: unknown;
  if (line.startsWith('{')) {
    try {
      level = (JSON.parse(line) as { level?: unknown }).level;
    } catch {
      // Not JSON after all: a line without a level.
    }
  } else {
    level = /(?:^|\s)level=(\w+)/.exec(line)?.[1];
  }
  return typeof level === 'string' ? (RANKS[level.toLowerCase()] ?? RANKS.error!) : RANKS[otherwise]!;
}

/** A worker's JSON log line as a person reads it: level, message, then its other fields. */
export function readableLine(line: string): string {
  try {
    const { time: _time, level, message, ...fields } = JSON.parse(line) as Record<string, unknown>;
    const rest = Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
    return `${String(level)} ${String(message)}${rest}`;
  } catch {
    return line;
  }
}

/**
 * Appends every line of `streams` to `file` (its folder created), whole lines, so that the
 * lines of two streams never mix, and hands each line to `onLine`. The file is closed once every
 * stream has ended.
 */
export function teeLines(file: string, streams: Readable[], onLine: (line: string) => void): void {
  mkdirSync(dirname(file), { recursive: true });
  const out = createWriteStream(file, { flags: 'a' });
  let open = streams.length;
  for (const input of streams) {
    createInterface({ input, crlfDelay: Infinity })
      .on('line', (line) => {
        out.write(`${line}\n`);
        onLine(line);
      })
      .on('close', () => {
        if (--open === 0) out.end();
      });
  }
}
