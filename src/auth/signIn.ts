import { recordAudit } from '../audit/recordAudit.js';
import type { Connection } from '../db/orm.js';
import { normalizeEmail } from './email.js';
import { verifyPassword } from './passwords.js';
import type { Plane } from './sessions.js';

/** The longest email a sign-in takes (RFC 5321's limit); the audit keeps no more of one. */
export const MAX_EMAIL = 254;

/** The longest password a sign-in takes: argon2 hashes any length, an attacker's megabyte is refused unhashed. */
export const MAX_PASSWORD = 1024;

/** What every refused sign-in says, whatever the reason: it tells no one which emails exist. */
export const SIGN_IN_REFUSED = 'The email or password is not right.';

/** An account that signs in to a plane, as its table holds it. */
export interface SignInAccount {
  id: number;
  email: string;
  passwordHash: string;
  isActive: boolean;
}

/** Whose accounts sign in where: the plane, and the audit trail's name for its accounts. */
export interface SignInPlane<Account extends SignInAccount> {
  plane: Plane;
  /** The audit trail's name for the plane's accounts, as actor and as target. */
  accountKind: 'platform_user' | 'user';
  findAccount(q: Connection, email: string): Promise<Account | null>;
}

/** Who tries, for the audit: never the password. `via` is what the surface adds (the CLI says so and names itself). */
export interface SignInAttempter {
  email: string | null;
  ip: string | null;
  userAgent: string | null;
  via?: Record<string, unknown>;
}

/** The email an attempt is audited and throttled by: normalized, and no longer than an email can be. */
export const attemptedEmail = (email: string) => normalizeEmail(email).slice(0, MAX_EMAIL);

/** A refused attempt (`throttled`, `csrf`, or the password check's reasons), audited as the anonymous caller it is. */
export async function auditSignInRefused(
  q: Connection,
  login: Pick<SignInPlane<SignInAccount>, 'plane' | 'accountKind'>,
  who: SignInAttempter,
  reason: string,
): Promise<void> {
  await recordAudit(q, {
    actorKind: 'anonymous',
    actorLabel: who.email,
    action: reason === 'throttled' ? 'auth.login_throttled' : 'auth.login_failed',
    targetKind: login.accountKind,
    ip: who.ip,
    userAgent: who.userAgent,
    metadata: { plane: login.plane, email: who.email, reason, ...who.via },
  });
}

/**
 * The one password check of every sign-in, console and CLI: the password is verified even for
 * an unknown or inactive email, so that time and answer are the same; a refusal is audited with
 * its reason. On success `establish` runs (the console's session) and then the success is audited.
 */
export async function checkSignIn<Account extends SignInAccount>(
  q: Connection,
  login: SignInPlane<Account>,
  attempt: SignInAttempter & { email: string; password: string },
  establish?: (account: Account) => Promise<void>,
): Promise<Account | null> {
  const { password, ...tried } = attempt;
  const who = { ...tried, email: attemptedEmail(tried.email) };
  const account = await login.findAccount(q, tried.email);
  const passwordOk = await verifyPassword(account?.passwordHash ?? null, password);
  if (!account || !account.isActive || !passwordOk) {
    await auditSignInRefused(
      q,
      login,
      who,
      !account ? 'unknown_email' : !account.isActive ? 'inactive' : 'wrong_password',
    );
    return null;
  }
  await establish?.(account);
  await recordAudit(q, {
    actorKind: login.accountKind,
    actorId: account.id,
    actorLabel: account.email,
    action: 'auth.login_succeeded',
    targetKind: login.accountKind,
    targetId: String(account.id),
    ip: tried.ip,
    userAgent: tried.userAgent,
    // The console's success says only the plane; the CLI's also what its throttle counts by (the email).
    metadata: { plane: login.plane, ...(tried.via && { email: who.email, ...tried.via }) },
  });
  return account;
}
