import { printableLines } from './cli/printable.js';
import { ConfigError } from './config.js';
import { firstLine, UserError } from './errors.js';
import { isTransientError } from './transient.js';

/** gRPC errors carry a numeric status code; driver and socket errors a string one. */
function isTemporalError(error: unknown): boolean {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if (typeof (current as { code?: unknown }).code === 'number') return true;
  }
  return false;
}

/** The one line (and exit code) a process prints for an error that ends it. */
function describeFatal(error: unknown): { line: string; exitCode: number } {
  if (error instanceof UserError) return { line: error.message, exitCode: error.exitCode };
  if (error instanceof ConfigError) return { line: error.message, exitCode: 2 };
  if (isTransientError(error)) {
    const dependency = isTemporalError(error) ? 'Temporal' : 'PostgreSQL';
    return {
      line: `${dependency} became unavailable (${firstLine(error)}). Check that it is running, then try again.`,
      exitCode: 3,
    };
  }
  return {
    line: `unexpected failure: ${firstLine(error)}. This is a bug; set DEBUG=1 to print its stack trace.`,
    exitCode: 1,
  };
}

/**
 * A `.env` file in the working directory (the project root, under npm) fills in the variables
 * the environment does not set; one the environment sets always wins. No file, no change.
 */
function loadDotEnv(): void {
  try {
    process.loadEnvFile();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new ConfigError(`The .env file here could not be read (${firstLine(error)}); fix or remove it.`);
  }
}

/**
 * Runs a process entry point. Whatever ends it prints one line on stderr, never a stack
 * trace or an object dump (DEBUG=1 adds the stack of an unexpected failure), and exits with
 * the documented code: 2 usage, 3 an unreachable dependency, 1 anything else.
 */
export function runEntryPoint(run: () => Promise<void>): void {
  Promise.resolve()
    .then(loadDotEnv)
    .then(run)
    .catch((error: unknown) => {
      const { line, exitCode } = describeFatal(error);
      process.stderr.write(`error: ${printableLines(line, 1_000)}\n`);
      if (process.env.DEBUG && exitCode === 1 && !(error instanceof UserError)) console.error(error);
      process.exit(exitCode);
    });
}
