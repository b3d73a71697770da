import type pg from 'pg';
import { findPlatformUserByEmail } from '../auth/platformUsers.js';
import {
  attemptedEmail,
  auditSignInRefused,
  checkSignIn,
  MAX_PASSWORD,
  SIGN_IN_REFUSED,
  type SignInAttempter,
} from '../auth/signIn.js';
import { inTransaction } from '../db/transaction.js';
import { UsageError, UserError } from '../errors.js';
import { initiatorLabel, type Initiator } from '../runbooks/initiator.js';
import { CLI } from './hints.js';
import { cliInitiator } from './initiator.js';
import { progress } from './output.js';
import { printable } from './printable.js';

/** Attempts per minute per email from the CLI, successful or not: the console's limit. */
const CLI_ATTEMPTS_PER_MINUTE = 10;

/** Operators sign in to the system plane, at the CLI as at the console. */
const OPERATORS = { plane: 'system', accountKind: 'platform_user', findAccount: findPlatformUserByEmail } as const;

type Operator = Extract<Initiator, { kind: 'platform_user' }>;

/** `--as <email> --password-stdin`, read before anything else is done. */
interface Credentials {
  email: string;
  password: string;
}

/** The first line of standard input, its line ending stripped: what `--password-stdin` reads. */
async function passwordFromStdin(): Promise<string> {
  if (process.stdin.isTTY) progress('Password (one line, ended by Enter):');
  let text = '';
  for await (const chunk of process.stdin.setEncoding('utf8')) {
    text += chunk as string;
    if (text.includes('\n') || text.length > MAX_PASSWORD + 2) break;
  }
  const line = text.split('\n', 1)[0]!.replace(/\r$/, '');
  if (!line) throw new UsageError('--password-stdin read no password: standard input was empty.');
  if (line.length > MAX_PASSWORD) {
    throw new UsageError(`The password on standard input is longer than ${MAX_PASSWORD} characters.`);
  }
  return line;
}

/**
 * The operator's email and password when `--as` names one, or null to act as the CLI itself. A
 * password is never an argument (it would be in the shell's history and the process list).
 */
export async function credentialsOf(
  options: { as?: string; passwordStdin?: boolean },
  example: string,
): Promise<Credentials | null> {
  if (options.as === undefined) {
    if (options.passwordStdin) throw new UsageError('--password-stdin goes with --as <email>: whose password is it?');
    return null;
  }
  if (!options.passwordStdin) {
    throw new UsageError(
      `--as needs --password-stdin, the password on standard input: printf '%s\\n' "$PASSWORD" | ${CLI} ${example} --as ${printable(options.as, 80)} --password-stdin …`,
    );
  }
  return { email: options.as, password: await passwordFromStdin() };
}

/** As `credentialsOf`, for a command only a signed-in operator may run. */
export async function requiredCredentials(
  options: { as?: string; passwordStdin?: boolean },
  example: string,
): Promise<Credentials> {
  const credentials = await credentialsOf(options, example);
  if (!credentials) throw new UsageError(`${example} needs an operator who signs in: --as <email> --password-stdin`);
  return credentials;
}

/**
 * Signs an operator in with the console's own check (`checkSignIn`), audited the same way with
 * `via: 'cli'` and the CLI's label. A CLI process lives for one command, so the console's
 * in-memory throttle cannot hold here: the attempts are counted in the audit trail instead, and
 * an advisory lock per email makes processes that try at once count one after another.
 */
export async function signInAtCli(pool: pg.Pool, credentials: Credentials): Promise<Operator> {
  const email = attemptedEmail(credentials.email);
  const who: SignInAttempter = {
    email,
    ip: null,
    userAgent: null,
    via: { via: 'cli', label: initiatorLabel(cliInitiator()) },
  };
  const account = await inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`cli-sign-in:${email}`]);
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_events
        WHERE occurred_at > now() - interval '60 seconds' AND action LIKE 'auth.login\\_%'
          AND metadata ->> 'plane' = 'system' AND metadata ->> 'via' = 'cli' AND metadata ->> 'email' = $1`,
      [email],
    );
    if (rows[0]!.n >= CLI_ATTEMPTS_PER_MINUTE) {
      await auditSignInRefused(client, OPERATORS, who, 'throttled');
      return 'throttled' as const;
    }
    return checkSignIn(client, OPERATORS, { ...who, email: credentials.email, password: credentials.password });
  });
  // Refused after the transaction, so that the attempt's audit event stands.
  if (account === 'throttled') {
    throw new UserError(`Too many sign-in attempts for ${printable(email, 80)}; wait a minute and try again.`, 2);
  }
  if (!account) throw new UserError(SIGN_IN_REFUSED, 2);
  return { kind: 'platform_user', id: account.id, email: account.email, capabilities: account.capabilities };
}
