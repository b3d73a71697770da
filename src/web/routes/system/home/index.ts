import type { FastifyPluginAsync } from 'fastify';
import { loginPathOf, operatorHome, PLANE_HOMES } from '../../../planes.js';
import { PUBLIC } from '../../../plugins/app/auth.js';
import { NO_QUERY } from '../../../schemas.js';

/**
 * The console's front doors. `GET /system` and `/system/` send a signed-in operator to the first
 * page they may open and anyone else to the sign-in, whose default after signing in is that same
 * page. They are PUBLIC so that a signed-out visitor goes to the sign-in without a `next` (the
 * start page is the default already); the access rules still give an `/admin`-only visitor the
 * unknown-URL 404, as everywhere on `/system`. `GET /` cannot tell who is signed in (the session
 * cookie's path is `/system`, so a browser does not send it here) and so goes to `/system/`.
 */
export const homeRoutes: FastifyPluginAsync = async (app) => {
  app.get('/', { schema: { querystring: NO_QUERY } }, async (_request, reply) =>
    reply.redirect(PLANE_HOMES.system, 303),
  );

  for (const url of ['/system', '/system/']) {
    app.get(url, { schema: { querystring: NO_QUERY }, config: { capability: PUBLIC } }, async (request, reply) => {
      const { operator } = request.session;
      return reply.redirect(operator ? operatorHome(operator.capabilities) : loginPathOf('system'), 303);
    });
  }
};
