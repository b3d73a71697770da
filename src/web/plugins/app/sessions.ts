import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import {
  createSession,
  deleteSession,
  findCustomerSession,
  findOperatorSession,
  hashSessionToken,
  isLiveAdminSession,
  touchSession,
  type Customer,
  type LiveSession,
  type Operator,
  type Plane,
} from '../../../auth/sessions.js';
import type { Queryable } from '../../../db/queryable.js';
import { ReadCache } from '../../../db/readCache.js';
import { loginPathOf, PLANE_COOKIES, planeOf } from '../../planes.js';

/** Before sign-in a login form's CSRF secret lives in this cookie, on its plane's login path only. */
const LOGIN_CSRF_COOKIES: Record<Plane, { name: string; path: string }> = {
  system: { name: 'system_login_csrf', path: loginPathOf('system') },
  admin: { name: 'admin_login_csrf', path: loginPathOf('admin') },
};
const SECRET_SHAPE = /^[A-Za-z0-9_-]{32}$/;
/**
 * What a signed-in lookup reads: a change to any of them (a sign-out, a touch, an operator
 * deactivated or given other capabilities) drops every session this process keeps.
 */
const SESSION_TABLES = { sessions: 'all', platform_users: 'all', users: 'all', tenants: 'all' } as const;

/** The visitor's session as every later hook and route sees it. */
interface WebSession {
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

type SignedIn = Pick<WebSession, 'operator' | 'customer'> & { session: LiveSession };

/** The session behind a plane's cookie token, with the kind of user that plane has, or null. */
async function signedInWith(pool: Queryable, plane: Plane, token: string): Promise<SignedIn | null> {
  if (plane === 'system') {
    const found = await findOperatorSession(pool, token);
    return found && { session: found.session, operator: found.operator, customer: null };
  }
  const found = await findCustomerSession(pool, token);
  return found && { session: found.session, operator: null, customer: found.customer };
}

function planeOfSession(request: FastifyRequest): Plane {
  const { plane } = request.session;
  if (!plane)
    throw new Error(`${request.method} ${request.url} is on no plane; only /system and /admin routes have sessions`);
  return plane;
}

export default fp<{ secureCookies: boolean }>(
  async (app, options) => {
    const cookieOptions = (path: string) => ({
      path,
      httpOnly: true,
      sameSite: 'strict' as const,
      secure: options.secureCookies,
    });

    app.decorateRequest('session', null as unknown as WebSession);
    // Every request reads its session, so the lookups are kept while nothing they read changed.
    const signedIn = new ReadCache<SignedIn>({
      feed: app.changeFeed,
      dependsOn: SESSION_TABLES,
      lifetimeOf: (found) => found.session.remainingMs,
    });
    // Other processes hear of a session's end from the change feed; this one must not wait for that.
    const endSession = async (id: number) => {
      await deleteSession(app.deps.database.pool, id);
      signedIn.clear();
    };

    app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      // The plane comes from the URL before any cookie is read, so only the plane's own cookie
      // can sign anyone in: a /system cookie means nothing on /admin, and the reverse.
      const plane = planeOf(request.url);
      request.session = signedOut(plane);
      if (!plane) return;
      const pool = app.deps.database.pool;
      const token = request.cookies[PLANE_COOKIES[plane].name];
      const found = token
        ? await signedIn.read(`${plane}:${hashSessionToken(token)}`, () => signedInWith(pool, plane, token))
        : null;
      if (found) {
        // Whatever a signed-in visitor is answered (a page, an error, a redirect, a partial) is
        // theirs alone: no cache keeps it, so Back after sign-out cannot show it again. Set
        // before the route runs so that an error page carries it too; static assets have no
        // plane, read no session and keep their caching.
        reply.header('cache-control', 'no-store');
        // A poll the page makes on its own is no use of the session: an open tab still times out.
        if (request.routeOptions.config?.background !== true) await touchSession(pool, found.session);
        const { session, operator, customer } = found;
        request.session = {
          plane,
          otherPlaneOnly: false,
          id: session.id,
          csrfSecret: session.csrfSecret,
          operator,
          customer,
        };
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
      if (this.request.session.id !== null) await endSession(this.request.session.id);
      const owner = plane === 'system' ? { plane, platformUserId: id } : { plane, userId: id };
      const { token, session } = await createSession(pool, owner);
      this.request.session = { ...this.request.session, id: session.id, csrfSecret: session.csrfSecret };
      this.setCookie(PLANE_COOKIES[plane].name, token, cookieOptions(PLANE_COOKIES[plane].path));
      this.clearCookie(LOGIN_CSRF_COOKIES[plane].name, cookieOptions(LOGIN_CSRF_COOKIES[plane].path));
    });

    app.decorateReply('signOut', async function signOut(this: FastifyReply) {
      const plane = planeOfSession(this.request);
      if (this.request.session.id !== null) await endSession(this.request.session.id);
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
  { name: 'sessions', dependencies: ['cookies', 'change-feed'] },
);
