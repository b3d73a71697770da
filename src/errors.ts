/**
 * An error caused by the user's input or environment, with a message that says what was wrong
 * and what to do. Entry points print its message alone (no stack) and exit with `exitCode`.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** Bad command-line usage: exit code 2, as shells expect. */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}

/** A dependency (PostgreSQL, Temporal) could not be reached. */
export class UnavailableError extends UserError {
  constructor(message: string) {
    super(message, 3);
    this.name = 'UnavailableError';
  }
}

/** The first line of an error's message: driver and gRPC errors append details nobody needs. */
export function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
