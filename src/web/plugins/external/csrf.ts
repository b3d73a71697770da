import fastifyCsrfProtection from '@fastify/csrf-protection';
import fp from 'fastify-plugin';

/**
 * CSRF tokens made from a secret held on the server side: the signed-in session's
 * `sessions.csrf_token`, or before sign-in the login form's own secret (see the sessions
 * plugin). The plugin reads it from `request.session.csrfSecret` ("session" mode), so a token
 * is valid for one session only and dies with it. Tokens travel in the `_csrf` form field or
 * an `x-csrf-token` header (htmx).
 */
export default fp(
  async (app) => {
    await app.register(fastifyCsrfProtection, { sessionPlugin: '@fastify/session', sessionKey: 'csrfSecret' });
  },
  { name: 'csrf', dependencies: ['sessions'] },
);
