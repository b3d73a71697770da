import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../db/queryable.js';
import type { Capability } from '../runbooks/capabilities.js';

export type Plane = 'system' | 'admin';

/** A session ends this long after sign-in, however active it is. */
const SESSION_ABSOLUTE_MS = 12 * 60 * 60 * 1000;
/** A session left unused this long ends. */
export const SESSION_IDLE_MS = 30 * 60 * 1000;
/** Activity moves the idle expiry at most this often, so most requests only read. */
const TOUCH_EVERY_MS = 60 * 1000;

/** 32 random bytes in base64url: exactly 43 characters of [A-Za-z0-9_-]. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** The table keeps only this hash: a leaked table does not sign anyone in. */
export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface SessionRecord {
  id: number;
  plane: Plane;
  platformUserId: number | null;
  userId: number | null;
  csrfSecret: string;
}

/** A signed-in operator, as the console sees them. */
export interface Operator {
  id: number;
  email: string;
  capabilities: Capability[];
}

/** A signed-in customer user of the `/admin` plane, with the one tenant they belong to. */
export interface Customer {
  id: number;
  email: string;
  tenantId: number;
  tenantExternalId: string;
  tenantName: string;
}

/** Writes a new session and returns the cookie's token (never stored). */
export async function createSession(
  q: Queryable,
  owner: { plane: 'system'; platformUserId: number } | { plane: 'admin'; userId: number },
): Promise<{ token: string; session: SessionRecord }> {
  const token = randomBytes(32).toString('base64url');
  const csrfSecret = randomBytes(24).toString('base64url');
  const { rows } = await q.query<SessionRecord>(
    `INSERT INTO sessions (token_hash, plane, platform_user_id, user_id, csrf_token, expires_at, idle_expires_at, last_seen_at)
     VALUES ($1, $2, $3, $4, $5, now() + $6 * interval '1 millisecond', now() + $7 * interval '1 millisecond', now())
     RETURNING id::int, plane, platform_user_id::int AS "platformUserId", user_id::int AS "userId", csrf_token AS "csrfSecret"`,
    [
      hashSessionToken(token),
      owner.plane,
      owner.plane === 'system' ? owner.platformUserId : null,
      owner.plane === 'admin' ? owner.userId : null,
      csrfSecret,
      SESSION_ABSOLUTE_MS,
      SESSION_IDLE_MS,
    ],
  );
  return { token, session: rows[0]! };
}

/** Whether a session is live: the token's, of this plane, and expired neither absolutely nor idly. */
const LIVE_SESSION = 's.token_hash = $1 AND s.plane = $2 AND s.expires_at > now() AND s.idle_expires_at > now()';

/**
 * What every signed-in lookup reads of the session itself, next to its user: with how long it
 * has left (idle or absolute, whichever ends first), by the database's clock.
 */
const SESSION_COLUMNS = `s.id::int AS "sessionId", s.csrf_token AS "csrfSecret", s.last_seen_at AS "lastSeenAt",
  (extract(epoch FROM least(s.expires_at, s.idle_expires_at) - now()) * 1000)::float8 AS "remainingMs"`;

interface SessionColumns {
  sessionId: number;
  csrfSecret: string;
  lastSeenAt: Date;
  remainingMs: number;
}

/** A session as a lookup finds it: when it was last used, and how much longer it lives unless used. */
export interface LiveSession extends SessionRecord {
  lastSeenAt: Date;
  remainingMs: number;
}

/**
 * Pushes the idle expiry forward on use (at most once a minute), never past the absolute one.
 * The session is marked seen before the write, so that concurrent uses of one session held in
 * memory write once.
 */
export async function touchSession(q: Queryable, session: { id: number; lastSeenAt: Date }): Promise<void> {
  if (Date.now() - session.lastSeenAt.getTime() < TOUCH_EVERY_MS) return;
  session.lastSeenAt = new Date();
  await q.query(
    `UPDATE sessions SET last_seen_at = now(), idle_expires_at = least(now() + $2 * interval '1 millisecond', expires_at)
      WHERE id = $1`,
    [session.id, SESSION_IDLE_MS],
  );
}

/**
 * The live session of this plane behind a cookie's token and its user, in one query (`select`,
 * which joins the user to `sessions s` WHERE LIVE_SESSION), or null: a malformed, unknown,
 * expired (absolute or idle) token, one of the other plane, or one whose user is gone or
 * inactive is no session at all. Reads only: the caller touches a session that was used.
 */
async function findSignedIn<Row extends SessionColumns>(
  q: Queryable,
  plane: Plane,
  token: string,
  select: string,
): Promise<Row | null> {
  if (!TOKEN_SHAPE.test(token)) return null;
  const { rows } = await q.query<Row>(select, [hashSessionToken(token), plane]);
  return rows[0] ?? null;
}

function liveSession(
  row: SessionColumns,
  owner: Pick<SessionRecord, 'plane' | 'platformUserId' | 'userId'>,
): LiveSession {
  return {
    id: row.sessionId,
    ...owner,
    csrfSecret: row.csrfSecret,
    lastSeenAt: row.lastSeenAt,
    remainingMs: row.remainingMs,
  };
}

/** The operator signed in with this `/system` token, or null (an inactive operator is signed out). */
export async function findOperatorSession(
  q: Queryable,
  token: string,
): Promise<{ session: LiveSession; operator: Operator } | null> {
  const row = await findSignedIn<SessionColumns & Operator>(
    q,
    'system',
    token,
    `SELECT ${SESSION_COLUMNS}, u.id::int AS id, u.email, u.capabilities
       FROM sessions s JOIN platform_users u ON u.id = s.platform_user_id AND u.is_active
      WHERE ${LIVE_SESSION}`,
  );
  return (
    row && {
      session: liveSession(row, { plane: 'system', platformUserId: row.id, userId: null }),
      operator: { id: row.id, email: row.email, capabilities: row.capabilities },
    }
  );
}

/** The customer signed in with this `/admin` token, or null (an inactive user is signed out). */
export async function findCustomerSession(
  q: Queryable,
  token: string,
): Promise<{ session: LiveSession; customer: Customer } | null> {
  const row = await findSignedIn<SessionColumns & Customer>(
    q,
    'admin',
    token,
    `SELECT ${SESSION_COLUMNS}, u.id::int AS id, u.email,
            t.id::int AS "tenantId", t.external_id AS "tenantExternalId", t.name AS "tenantName"
       FROM sessions s JOIN users u ON u.id = s.user_id AND u.is_active JOIN tenants t ON t.id = u.tenant_id
      WHERE ${LIVE_SESSION}`,
  );
  return (
    row && {
      session: liveSession(row, { plane: 'admin', platformUserId: null, userId: row.id }),
      customer: {
        id: row.id,
        email: row.email,
        tenantId: row.tenantId,
        tenantExternalId: row.tenantExternalId,
        tenantName: row.tenantName,
      },
    }
  );
}

/** Whether this token is a live `/admin` session: such a visitor on `/system` sees a 404. */
export async function isLiveAdminSession(q: Queryable, token: string): Promise<boolean> {
  if (!TOKEN_SHAPE.test(token)) return false;
  const { rows } = await q.query(`SELECT 1 FROM sessions s WHERE ${LIVE_SESSION}`, [hashSessionToken(token), 'admin']);
  return rows.length > 0;
}

export async function deleteSession(q: Queryable, id: number): Promise<void> {
  await q.query('DELETE FROM sessions WHERE id = $1', [id]);
}
