import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { verifyPassword } from '../../../../auth/passwords.js';
import { findPlatformUserByEmail, normalizeEmail } from '../../../../auth/platformUsers.js';
import { recordAudit } from '../../../../audit/recordAudit.js';
import type { Refusal } from '../../../plugins/app/errors.js';
import { PUBLIC, SIGNED_IN } from '../../../plugins/app/auth.js';
import { safeNext } from '../../../safeNext.js';

const MAX_EMAIL = 254;
const MAX_PASSWORD = 1024;
const MAX_NEXT = 2048;

/** Attempts per minute per client address and email, successful or not. */
const LOGIN_ATTEMPTS_PER_MINUTE = 10;

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
    email: { type: 'string', minLength: 1, maxLength: MAX_EMAIL, pattern: '^[^\\u0000-\\u001f\\u007f]*$' },
    password: { type: 'string', minLength: 1, maxLength: MAX_PASSWORD },
    next: { type: 'string', maxLength: MAX_NEXT },
    _csrf: { type: 'string', maxLength: 200 },
  },
  additionalProperties: false,
} as const;

const noBody = { type: 'object', properties: { _csrf: { type: 'string', maxLength: 200 } }, additionalProperties: false } as const;
const noQuery = { type: 'object', properties: {}, additionalProperties: false } as const;

/** Who tried, for the audit: never the password. */
function attempt(request: FastifyRequest<{ Body: LoginBody }>) {
  return {
    ip: request.ip,
    userAgent: request.headers['user-agent']?.slice(0, 500) ?? null,
    email: typeof request.body?.email === 'string' ? normalizeEmail(request.body.email).slice(0, MAX_EMAIL) : null,
  };
}

/** `GET|POST /system/login`, `POST /system/logout`. */
export const loginRoutes: FastifyPluginAsync = async (app) => {
  const pool = app.deps.database.pool;

  const auditFailure = async (request: FastifyRequest<{ Body: LoginBody }>, reason: string) => {
    const who = attempt(request);
    await recordAudit(pool, {
      actorKind: 'anonymous',
      actorLabel: who.email,
      action: reason === 'throttled' ? 'auth.login_throttled' : 'auth.login_failed',
      targetKind: 'platform_user',
      ip: who.ip,
      userAgent: who.userAgent,
      metadata: { plane: 'system', email: who.email, reason },
    });
  };

  const renderForm = (
    reply: FastifyReply,
    form: { email: string; next: string; error: string | null },
    status = 200,
  ) => {
    reply.ensureLoginCsrfSecret();
    return reply.page('system/login', { ...form, csrfToken: reply.generateCsrf() }, { title: 'Sign in', status });
  };

  app.get<{ Querystring: { next?: string } }>(
    '/system/login',
    { schema: { querystring: loginQuery }, config: { capability: PUBLIC } },
    async (request, reply) => renderForm(reply, { email: '', next: safeNext(request.query.next), error: null }),
  );

  // Keyed on the address and the email together: one attacker cannot lock an operator out from
  // elsewhere, and another operator behind the same address is not blocked. The email is in the
  // body, so the key is made in this preHandler (onRequest has no body yet).
  const throttle = app.rateLimit({
    max: LOGIN_ATTEMPTS_PER_MINUTE,
    timeWindow: 60_000,
    keyGenerator: (request) => `login:${request.ip}:${normalizeEmail(String((request.body as LoginBody).email))}`,
  });

  app.post<{ Body: LoginBody }>(
    '/system/login',
    {
      schema: { querystring: noQuery, body: loginBody },
      preHandler: throttle,
      config: {
        capability: PUBLIC,
        onRefused: (request, refusal: Refusal) => auditFailure(request as FastifyRequest<{ Body: LoginBody }>, refusal),
      },
    },
    async (request, reply) => {
      const { email, password } = request.body;
      const next = safeNext(request.body.next);
      const user = await findPlatformUserByEmail(pool, email);
      // Verified even for an unknown or inactive email, so timing and answer are the same.
      const passwordOk = await verifyPassword(user?.passwordHash ?? null, password);
      if (!user || !user.isActive || !passwordOk) {
        await auditFailure(request, !user ? 'unknown_email' : !user.isActive ? 'inactive' : 'wrong_password');
        return renderForm(reply, { email: email.slice(0, MAX_EMAIL), next, error: 'The email or password is not right.' }, 401);
      }
      await reply.signIn(user.id);
      await recordAudit(pool, {
        actorKind: 'platform_user',
        actorId: user.id,
        actorLabel: user.email,
        action: 'auth.login_succeeded',
        targetKind: 'platform_user',
        targetId: String(user.id),
        ip: request.ip,
        userAgent: request.headers['user-agent']?.slice(0, 500) ?? null,
        metadata: { plane: 'system' },
      });
      return reply.redirect(next, 303);
    },
  );

  app.post(
    '/system/logout',
    { schema: { querystring: noQuery, body: noBody }, config: { capability: SIGNED_IN } },
    async (_request, reply) => {
      await reply.signOut();
      return reply.redirect('/system/login', 303);
    },
  );
};
