/**
 * The one place that decides whether an error is a passing infrastructure failure (retry it)
 * or a real one (report it). Activities, the CLI's `--wait` and the console all ask here.
 */

/** Socket errors of a server that is down, restarting or unreachable. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/**
 * SQLSTATEs that say "try again": the server is shutting down or starting up, the connection
 * broke, too many connections, or a concurrent transaction won (serialization, deadlock).
 */
function transientSqlState(code: string): boolean {
  return (
    code.startsWith('08') || // connection exception
    code === '57P01' || // admin_shutdown
    code === '57P02' || // crash_shutdown
    code === '57P03' || // cannot_connect_now (starting up)
    code === '53300' || // too_many_connections
    code === '40001' || // serialization_failure
    code === '40P01' // deadlock_detected
  );
}

/** node-postgres reports a connection lost mid-query by message only. */
const DROPPED_CONNECTION =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i;

/** gRPC status codes of a Temporal server that is down or overloaded. */
const GRPC_UNAVAILABLE = 14;
const GRPC_RESOURCE_EXHAUSTED = 8;

function isTransientOne(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (SOCKET_CODES.has(code) || (/^[0-9A-Z]{5}$/.test(code) && transientSqlState(code))))
    return true;
  if (
    typeof code === 'number' &&
    (code === GRPC_UNAVAILABLE || code === GRPC_RESOURCE_EXHAUSTED) &&
    'metadata' in error
  )
    return true;
  return DROPPED_CONNECTION.test(error.message);
}

/** Whether the error, or anything in its cause chain, is a transient infrastructure failure. */
export function isTransientError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current; depth++) {
    if (isTransientOne(current)) return true;
    if (current instanceof AggregateError && current.errors.some(isTransientOne)) return true;
    current = current instanceof Error ? current.cause : undefined;
  }
  return false;
}
