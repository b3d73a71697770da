import { ConfigError } from './config.js';
import { UserError } from './errors.js';

/**
 * Runs a process entry point: a user's mistake or an unreachable dependency prints one line
 * and exits with its code; anything else is a bug and prints its stack.
 */
export function runEntryPoint(run: () => Promise<void>): void {
  run().catch((error: unknown) => {
    if (error instanceof UserError || error instanceof ConfigError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exit(error instanceof UserError ? error.exitCode : 2);
    }
    console.error(error);
    process.exit(1);
  });
}
