import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import {
  createSession,
  deleteSession,
  findOperatorSession,
  isLiveAdminSession,
  type Operator,
} from '../../../auth/sessions.js';
import { PLANE_COOKIES, planeOf } from '../../planes.js';

/** Before sign-in the login form's CSRF secret lives in this cookie, on the login path only. */
const LOGIN_CSRF_COOKIE = { name: 'system_login_csrf', path: '/system/login' };
const SECRET_SHAPE = /^[A-Za-z0-9_-]{32}$/;

/** The visitor's session as every later hook and route sees it. */
export interface WebSession {
  /** The `sessions` row id, when signed in. */
  id: number | null;
  operator: Operator | null;
  /** The secret CSRF tokens are made from (read by @fastify/csrf-protection). */
  csrfSecret: string | undefined;
  /** Carries a live session of the other plane and none of this one: such a visitor gets 404. */
  otherPlaneOnly: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    session: WebSession;
  }
  interface FastifyReply {
    /** Signs the operator in with a new session (a new token, whatever cookie came in). */
    signIn(platformUserId: number): Promise<void>;
    /** Deletes the session row and clears the cookie. */
    signOut(): Promise<void>;
    /** The login form's CSRF secret, made and set in its cookie when the visitor has none. */
    ensureLoginCsrfSecret(): void;
  }
}

export default fp<{ secureCookies: boolean }>(
  async (app, options) => {
    const cookieOptions = (path: string) => ({ path, httpOnly: true, sameSite: 'strict' as const, secure: options.secureCookies });
    const systemCookie = PLANE_COOKIES.system;

    app.decorateRequest('session', null as unknown as WebSession);

    app.addHook('onRequest', async (request: FastifyRequest) => {
      request.session = { id: null, operator: null, csrfSecret: undefined, otherPlaneOnly: false };
      // The plane comes from the URL before any cookie is read, so only its own cookie counts.
      // The /admin plane has no sign-in yet; only /system requests look up a session.
      if (planeOf(request.url) !== 'system') return;
      const pool = app.deps.database.pool;
      const token = request.cookies[systemCookie.name];
      const found = token ? await findOperatorSession(pool, token) : null;
      if (found) {
        request.session = { id: found.session.id, operator: found.operator, csrfSecret: found.session.csrfSecret, otherPlaneOnly: false };
        return;
      }
      const adminToken = request.cookies[PLANE_COOKIES.admin.name];
      const loginSecret = request.cookies[LOGIN_CSRF_COOKIE.name];
      request.session.otherPlaneOnly = Boolean(adminToken) && (await isLiveAdminSession(pool, adminToken!));
      request.session.csrfSecret = loginSecret && SECRET_SHAPE.test(loginSecret) ? loginSecret : undefined;
    });

    app.decorateReply('signIn', async function signIn(this: FastifyReply, platformUserId: number) {
      const pool = app.deps.database.pool;
      // A token that came in (even a valid one) is never kept: sign-in always issues a new one.
      if (this.request.session.id !== null) await deleteSession(pool, this.request.session.id);
      const { token, session } = await createSession(pool, { plane: 'system', platformUserId });
      this.request.session = { ...this.request.session, id: session.id, csrfSecret: session.csrfSecret };
      this.setCookie(systemCookie.name, token, cookieOptions(systemCookie.path));
      this.clearCookie(LOGIN_CSRF_COOKIE.name, cookieOptions(LOGIN_CSRF_COOKIE.path));
    });

    app.decorateReply('signOut', async function signOut(this: FastifyReply) {
      if (this.request.session.id !== null) await deleteSession(app.deps.database.pool, this.request.session.id);
      this.request.session = { id: null, operator: null, csrfSecret: undefined, otherPlaneOnly: false };
      this.clearCookie(systemCookie.name, cookieOptions(systemCookie.path));
    });

    app.decorateReply('ensureLoginCsrfSecret', function ensureLoginCsrfSecret(this: FastifyReply) {
      if (this.request.session.csrfSecret) return;
      const secret = randomBytes(24).toString('base64url');
      this.request.session.csrfSecret = secret;
      this.setCookie(LOGIN_CSRF_COOKIE.name, secret, cookieOptions(LOGIN_CSRF_COOKIE.path));
    });
  },
  { name: 'sessions', dependencies: ['cookies'] },
);
