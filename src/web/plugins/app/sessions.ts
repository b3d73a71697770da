import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import {
  createSession,
  deleteSession,
  findCustomerSession,
  findOperatorSession,
  isLiveAdminSession,
  type Customer,
  type Operator,
  type SessionLookup,
  type Plane,
} from '../../../auth/sessions.js';
import type { Queryable } from '../../../db/queryable.js';
import { loginPathOf, PLANE_COOKIES, planeOf } from '../../planes.js';

/** Before sign-in a login form's CSRF secret lives in this cookie, on its plane's login path only. */
const LOGIN_CSRF_COOKIES: Record<Plane, { name: string; path: string }> = {
  system: { name: 'system_login_csrf', path: loginPathOf('system') },
  admin: { name: 'admin_login_csrf', path: loginPathOf('admin') },
};
const SECRET_SHAPE = /^[A-Za-z0-9_-]{32}$/;

/** The visitor's session as every later hook and route sees it. */
export interface WebSession {
  /** The plane of the URL, decided before any cookie was read; null outside both planes. */
  plane: Plane | null;
  /** The `sessions` row id, when signed in. */
  id: number | null;
  /** The signed-in operator: only ever on `/system`, from its own cookie. */
  operator: Operator | null;
  /** The signed-in customer: only ever on `/admin`, from its own cookie. */
  customer: Customer | null;
  /** The secret CSRF tokens are made from (read by @fastify/csrf-protection). */
  csrfSecret: string | undefined;
  /** On `/system`: carries a live `/admin` session and no `/system` one; such a visitor gets 404. */
  otherPlaneOnly: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A request a page makes on its own (a poll), which does not keep the session from idling out. */
    background?: boolean;
  }
  interface FastifyRequest {
    session: WebSession;
  }
  interface FastifyReply {
    /**
     * Signs in to the request's plane with a new session (a new token, whatever cookie came
     * in): `id` is the operator's on `/system`, the customer user's on `/admin`.
     */
    signIn(id: number): Promise<void>;
    /** Deletes the session row and clears the plane's cookie. */
    signOut(): Promise<void>;
    /** The login form's CSRF secret, made and set in its plane's cookie when the visitor has none. */
    ensureLoginCsrfSecret(): void;
  }
}

const signedOut = (plane: Plane | null): WebSession => ({
  plane,
  id: null,
  operator: null,
  customer: null,
  csrfSecret: undefined,
  otherPlaneOnly: false,
});

/** The session behind a plane's cookie token, with the kind of user that plane has, or null. */
async function signedInWith(
  pool: Queryable,
  plane: Plane,
  token: string,
  lookup: SessionLookup,
): Promise<Pick<WebSession, 'id' | 'csrfSecret' | 'operator' | 'customer'> | null> {
  if (plane === 'system') {
    const found = await findOperatorSession(pool, token, lookup);
    return found && { id: found.session.id, csrfSecret: found.session.csrfSecret, operator: found.operator, customer: null };
  }
  const found = await findCustomerSession(pool, token, lookup);
  return found && { id: found.session.id, csrfSecret: found.session.csrfSecret, operator: null, customer: found.customer };
}

function planeOfSession(request: FastifyRequest): Plane {
  const { plane } = request.session;
  if (!plane) throw new Error(`${request.method} ${request.url} is on no plane; only /system and /admin routes have sessions`);
  return plane;
}

export default fp<{ secureCookies: boolean }>(
  async (app, options) => {
    const cookieOptions = (path: string) => ({ path, httpOnly: true, sameSite: 'strict' as const, secure: options.secureCookies });

    app.decorateRequest('session', null as unknown as WebSession);

    app.addHook('onRequest', async (request: FastifyRequest) => {
      // The plane comes from the URL before any cookie is read, so only the plane's own cookie
      // can sign anyone in: a /system cookie means nothing on /admin, and the reverse.
      const plane = planeOf(request.url);
      request.session = signedOut(plane);
      if (!plane) return;
      const pool = app.deps.database.pool;
      const token = request.cookies[PLANE_COOKIES[plane].name];
      // A poll the page makes on its own is no use of the session: an open tab still times out.
      const lookup = { touch: request.routeOptions.config?.background !== true };
      const found = token ? await signedInWith(pool, plane, token, lookup) : null;
      if (found) {
        request.session = { plane, otherPlaneOnly: false, ...found };
        return;
      }
      if (plane === 'system') {
        const adminToken = request.cookies[PLANE_COOKIES.admin.name];
        request.session.otherPlaneOnly = Boolean(adminToken) && (await isLiveAdminSession(pool, adminToken!));
      }
      const loginSecret = request.cookies[LOGIN_CSRF_COOKIES[plane].name];
      request.session.csrfSecret = loginSecret && SECRET_SHAPE.test(loginSecret) ? loginSecret : undefined;
    });

    app.decorateReply('signIn', async function signIn(this: FastifyReply, id: number) {
      const pool = app.deps.database.pool;
      const plane = planeOfSession(this.request);
      // A token that came in (even a valid one) is never kept: sign-in always issues a new one.
      if (this.request.session.id !== null) await deleteSession(pool, this.request.session.id);
      const owner = plane === 'system' ? { plane, platformUserId: id } : { plane, userId: id };
      const { token, session } = await createSession(pool, owner);
      this.request.session = { ...this.request.session, id: session.id, csrfSecret: session.csrfSecret };
      this.setCookie(PLANE_COOKIES[plane].name, token, cookieOptions(PLANE_COOKIES[plane].path));
      this.clearCookie(LOGIN_CSRF_COOKIES[plane].name, cookieOptions(LOGIN_CSRF_COOKIES[plane].path));
    });

    app.decorateReply('signOut', async function signOut(this: FastifyReply) {
      const plane = planeOfSession(this.request);
      if (this.request.session.id !== null) await deleteSession(app.deps.database.pool, this.request.session.id);
      this.request.session = signedOut(plane);
      this.clearCookie(PLANE_COOKIES[plane].name, cookieOptions(PLANE_COOKIES[plane].path));
    });

    app.decorateReply('ensureLoginCsrfSecret', function ensureLoginCsrfSecret(this: FastifyReply) {
      if (this.request.session.csrfSecret) return;
      const { name, path } = LOGIN_CSRF_COOKIES[planeOfSession(this.request)];
      const secret = randomBytes(24).toString('base64url');
      this.request.session.csrfSecret = secret;
      this.setCookie(name, secret, cookieOptions(path));
    });
  },
  { name: 'sessions', dependencies: ['cookies'] },
);
