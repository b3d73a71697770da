import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { normalizeEmail } from '../auth/email.js';
import {
  attemptedEmail,
  auditSignInRefused,
  checkSignIn,
  MAX_EMAIL,
  MAX_PASSWORD,
  SIGN_IN_REFUSED,
  type SignInAccount,
  type SignInPlane,
  type SignInAttempter,
} from '../auth/signIn.js';
import type { Refusal } from './plugins/app/errors.js';
import { PUBLIC, type RouteAccess } from './plugins/app/auth.js';
import { loginPathOf, logoutPathOf, PLANE_HOMES } from './planes.js';
import { safeNext } from './safeNext.js';
import { CSRF_FIELD, CSRF_ONLY_BODY, NO_QUERY, PLAIN_TEXT } from './schemas.js';

const MAX_NEXT = 2048;

/** Attempts per minute per plane, client address and email, successful or not. */
const LOGIN_ATTEMPTS_PER_MINUTE = 10;

/** What differs between the planes' sign-in: who signs in (`SignInPlane`), where they start, and what the form says. */
export interface PlaneLogin<Account extends SignInAccount> extends SignInPlane<Account> {
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
function attempt(request: FastifyRequest<{ Body: LoginBody }>): SignInAttempter {
  return {
    ip: request.ip,
    userAgent: request.headers['user-agent']?.slice(0, 500) ?? null,
    email: typeof request.body?.email === 'string' ? attemptedEmail(request.body.email) : null,
  };
}

/**
 * `GET|POST <plane>/login` and `POST <plane>/logout`, the same for both planes: a throttle
 * counted before the CSRF check and the password, every failed or throttled attempt audited,
 * the same answer (and time) for an unknown email as for a wrong password, and a new session
 * of the plane on success.
 */
export function planeLoginRoutes<Account extends SignInAccount>(login: PlaneLogin<Account>): FastifyPluginAsync {
  const { plane } = login;
  const loginPath = loginPathOf(plane);
  const logoutPath = logoutPathOf(plane);

  return async (app) => {
    const pool = app.deps.database.pool;

    const auditFailure = (request: FastifyRequest<{ Body: LoginBody }>, reason: string) =>
      auditSignInRefused(pool, login, attempt(request), reason);

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
        // The shared check (the CLI's too): the same answer and time for an unknown email, every attempt audited.
        const account = await checkSignIn(pool, login, { ...attempt(request), email, password }, (signedIn) =>
          reply.signIn(signedIn.id),
        );
        if (!account) {
          return renderForm(reply, { email: email.slice(0, MAX_EMAIL), next: next ?? '', error: SIGN_IN_REFUSED }, 401);
        }
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
