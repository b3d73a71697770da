import { DrizzleQueryError } from 'drizzle-orm';

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

/**
 * The driver's error behind drizzle's wrapper: "Failed query: <SQL> params: <values>" says
 * nothing a person can act on and may carry the data, the driver's error says what went wrong.
 */
function unwrapQueryError(error: unknown): unknown {
  let current = error;
  while (current instanceof DrizzleQueryError && current.cause) current = current.cause;
  return current;
}

/** The SQLSTATE of a database error, through any wrapper. */
export function sqlState(error: unknown): string | undefined {
  const code = (unwrapQueryError(error) as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The first line of an error's message: driver and gRPC errors append details nobody needs. */
export function firstLine(error: unknown): string {
  const unwrapped = unwrapQueryError(error);
  return (unwrapped instanceof Error ? unwrapped.message : String(unwrapped)).split('\n')[0] ?? '';
}

/**
 * The first line of an error and of the innermost error it wraps: "Failed to start Workflow"
 * alone does not say why, its gRPC cause does.
 */
export function errorWithCause(error: unknown): string {
  let root: unknown = error;
  while (root instanceof Error && root.cause instanceof Error) root = root.cause;
  const outer = firstLine(error);
  const inner = firstLine(root);
  return root === error || outer.includes(inner) ? outer : `${outer}: ${inner}`;
}
