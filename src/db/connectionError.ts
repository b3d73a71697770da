import { UnavailableError } from '../errors.js';
import { describeDatabaseUrl } from './describeUrl.js';

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET']);

/** Turns a driver error from connecting into a one-line message that names the address. */
export function asConnectionError(error: unknown, databaseUrl: string): unknown {
  const code = (error as { code?: string }).code;
  const where = describeDatabaseUrl(databaseUrl);
  const message = error instanceof Error ? error.message : '';
  if (/timeout exceeded when trying to connect|Connection terminated due to connection timeout/i.test(message)) {
    return new UnavailableError(
      `Cannot reach PostgreSQL at ${where} (no answer in time; DATABASE_CONNECT_TIMEOUT_SECONDS sets the limit). Start PostgreSQL or point DATABASE_URL at a running server.`,
    );
  }
  if (/Connection terminated/i.test(message)) {
    return new UnavailableError(
      `Cannot reach PostgreSQL at ${where} (the server closed the connection). Check that DATABASE_URL points at a PostgreSQL server.`,
    );
  }
  if (code && UNREACHABLE.has(code)) {
    return new UnavailableError(
      `Cannot reach PostgreSQL at ${where} (${code}). Start PostgreSQL or point DATABASE_URL at a running server.`,
    );
  }
  if (code === '3D000') {
    return new UnavailableError(`Database ${where} does not exist. Run "npm run cli -- db migrate" to create it.`);
  }
  if (code === '28P01' || code === '28000') {
    return new UnavailableError(`PostgreSQL at ${where} refused the credentials in DATABASE_URL (${code}).`);
  }
  return error;
}
