import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Plane } from '../auth/sessions.js';
import { verifyPassword } from '../auth/passwords.js';
import { normalizeEmail } from '../auth/email.js';
import { recordAudit } from '../audit/recordAudit.js';
import type { Connection } from '../db/orm.js';
import type { Refusal } from './plugins/app/errors.js';
import { PUBLIC, type RouteAccess } from './plugins/app/auth.js';
import { loginPathOf, logoutPathOf, PLANE_HOMES } from './planes.js';
import { safeNext } from './safeNext.js';
import { CSRF_FIELD, CSRF_ONLY_BODY, NO_QUERY, PLAIN_TEXT } from './schemas.js';

const MAX_EMAIL = 254;
const MAX_PASSWORD = 1024;
const MAX_NEXT = 2048;

/** Attempts per minute per plane, client address and email, successful or not. */
const LOGIN_ATTEMPTS_PER_MINUTE = 10;

/** An account that signs in to a plane, as its table holds it. */
interface LoginAccount {
  id: number;
  email: string;
  passwordHash: string;
  isActive: boolean;
}

/** What differs between the planes' sign-in: who signs in, where they start, and what the form says. */
export interface PlaneLogin<Account extends LoginAccount> {
  plane: Plane;
  /** The audit trail's name for the plane's accounts, as actor and as target. */
  accountKind: 'platform_user' | 'user';
  findAccount(q: Connection, email: string): Promise<Account | null>;
  /** Where the account starts when it was not on its way elsewhere (no usable `next`); default: the plane's home. */
  homeOf?(account: Account): string;
  /** The access rule of sign-out: any signed-in user of the plane. */
  signOutAccess: RouteAccess;
  /** One line under the heading: who this sign-in is for. */
  audience: string;
}

interface LoginBody {
  email: string;
  password: string;
  next?: string;
  _csrf?: string;
}

const loginQuery = {
  type: 'object',
  properties: { next: { type: 'string', maxLength: MAX_NEXT } },
  additionalProperties: false,
} as const;

const loginBody = {
  type: 'object',
  required: ['email', 'password'],
  properties: {
    // No control characters: PostgreSQL refuses NUL in text, and no email has any.
    email: { type: 'string', minLength: 1, maxLength: MAX_EMAIL, pattern: PLAIN_TEXT },
    password: { type: 'string', minLength: 1, maxLength: MAX_PASSWORD },
    next: { type: 'string', maxLength: MAX_NEXT },
    ...CSRF_FIELD,
  },
  additionalProperties: false,
} as const;

/** Who tried, for the audit: never the password. */
function attempt(request: FastifyRequest<{ Body: LoginBody }>) {
  return {
    ip: request.ip,
    userAgent: request.headers['user-agent']?.slice(0, 500) ?? null,
    email: typeof request.body?.email === 'string' ? normalizeEmail(request.body.email).slice(0, MAX_EMAIL) : null,
  };
}

/**
 * `GET|POST <plane>/login` and `POST <plane>/logout`, the same for both planes: a throttle
 * counted before the CSRF check and the password, every failed or throttled attempt audited,
 * the same answer (and time) for an unknown email as for a wrong password, and a new session
 * of the plane on success.
 */
export function planeLoginRoutes<Account extends LoginAccount>(login: PlaneLogin<Account>): FastifyPluginAsync {
  const { plane } = login;
  const loginPath = loginPathOf(plane);
  const logoutPath = logoutPathOf(plane);

  return async (app) => {
    const pool = app.deps.database.pool;

    const auditFailure = async (request: FastifyRequest<{ Body: LoginBody }>, reason: string) => {
      const who = attempt(request);
      await recordAudit(pool, {
        actorKind: 'anonymous',
        actorLabel: who.email,
        action: reason === 'throttled' ? 'auth.login_throttled' : 'auth.login_failed',
        targetKind: login.accountKind,
        ip: who.ip,
        userAgent: who.userAgent,
        metadata: { plane, email: who.email, reason },
      });
    };

    const renderForm = (
      reply: FastifyReply,
      form: { email: string; next: string; error: string | null },
      status = 200,
    ) => {
      reply.ensureLoginCsrfSecret();
      const model = { ...form, action: loginPath, audience: login.audience, csrfToken: reply.generateCsrf() };
      return reply.page('system/login', model, { title: 'Sign in', status });
    };

    app.get<{ Querystring: { next?: string } }>(
      loginPath,
      { schema: { querystring: loginQuery }, config: { capability: PUBLIC } },
      async (request, reply) =>
        renderForm(reply, { email: '', next: safeNext(request.query.next, plane) ?? '', error: null }),
    );

    // Keyed on the address and the email together: one attacker cannot lock a user out from
    // elsewhere, and another user behind the same address is not blocked. The email is in the
    // body, so the key is made in this preHandler (onRequest has no body yet).
    const throttle = app.rateLimit({
      max: LOGIN_ATTEMPTS_PER_MINUTE,
      timeWindow: 60_000,
      keyGenerator: (request) =>
        `login:${plane}:${request.ip}:${normalizeEmail(String((request.body as LoginBody).email))}`,
    });

    app.post<{ Body: LoginBody }>(
      loginPath,
      {
        schema: { querystring: NO_QUERY, body: loginBody },
        preHandler: throttle,
        config: {
          capability: PUBLIC,
          onRefused: (request, refusal: Refusal) =>
            auditFailure(request as FastifyRequest<{ Body: LoginBody }>, refusal),
        },
      },
      async (request, reply) => {
        const { email, password } = request.body;
        const next = safeNext(request.body.next, plane);
        const account = await login.findAccount(pool, email);
        // Verified even for an unknown or inactive email, so timing and answer are the same.
        const passwordOk = await verifyPassword(account?.passwordHash ?? null, password);
        if (!account || !account.isActive || !passwordOk) {
          await auditFailure(request, !account ? 'unknown_email' : !account.isActive ? 'inactive' : 'wrong_password');
          return renderForm(
            reply,
            { email: email.slice(0, MAX_EMAIL), next: next ?? '', error: 'The email or password is not right.' },
            401,
          );
        }
        await reply.signIn(account.id);
        await recordAudit(pool, {
          actorKind: login.accountKind,
          actorId: account.id,
          actorLabel: account.email,
          action: 'auth.login_succeeded',
          targetKind: login.accountKind,
          targetId: String(account.id),
          ip: request.ip,
          userAgent: request.headers['user-agent']?.slice(0, 500) ?? null,
          metadata: { plane },
        });
        return reply.redirect(next ?? login.homeOf?.(account) ?? PLANE_HOMES[plane], 303);
      },
    );

    app.post(
      logoutPath,
      { schema: { querystring: NO_QUERY, body: CSRF_ONLY_BODY }, config: { capability: login.signOutAccess } },
      async (_request, reply) => {
        await reply.signOut();
        return reply.redirect(loginPath, 303);
      },
    );
  };
}
