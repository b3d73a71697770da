import type { FastifyReply, FastifyRequest, RouteOptions, preHandlerHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import type { Plane } from '../../../auth/sessions.js';
import type { Capability } from '../../../runbooks/capabilities.js';
import type { Initiator, RequestContext } from '../../../runbooks/initiator.js';
import { NotFoundError } from '../../httpErrors.js';
import { PLANE_COOKIES, planeOf } from '../../planes.js';
import { assertCapability } from './capabilities.js';

/** Anyone may use the route (the sign-in pages). */
export const PUBLIC = 'public';
/** Any signed-in operator may use the route, whatever their capabilities (sign-out). */
export const SIGNED_IN = 'signed-in';
export type RouteAccess = Capability | typeof PUBLIC | typeof SIGNED_IN;

/** A route of a plane, as the access rules see it. */
export interface ConsoleRoute {
  method: string;
  url: string;
  access: RouteAccess;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may use the route; required on every `/system` and `/admin` route. */
    capability?: RouteAccess;
  }
  interface FastifyInstance {
    /** Every plane route with its declared access, in registration order. */
    consoleRoutes: ConsoleRoute[];
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The signed-in operator as the runbook core knows them, with where the request came from, for
 * a route whose access rule has already admitted an operator.
 */
export function initiatorOf(request: FastifyRequest): { initiator: Initiator; context: RequestContext } {
  const { operator } = request.session;
  if (!operator) throw new Error(`${request.method} ${request.url} has no signed-in operator; is its access rule a capability?`);
  return {
    initiator: { kind: 'platform_user', id: operator.id, email: operator.email, capabilities: operator.capabilities },
    context: { ip: request.ip, userAgent: request.headers['user-agent']?.slice(0, 500) ?? null },
  };
}

/**
 * The access rules of a plane route, in order: a visitor with only an `/admin` session gets the
 * unknown-URL 404 (the console does not admit it exists); a signed-out visitor is sent to sign
 * in; a signed-in one needs the route's capability.
 */
function requireAccess(plane: Plane, access: RouteAccess): preHandlerHookHandler {
  const login = `${PLANE_COOKIES[plane].path}/login`;
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const { operator, otherPlaneOnly } = request.session;
    if (!operator && otherPlaneOnly) throw new NotFoundError();
    if (access === PUBLIC) return;
    if (!operator) {
      // Only a page is worth returning to; a POST's form is gone after sign-in anyway.
      const next = SAFE_METHODS.has(request.method) ? `?next=${encodeURIComponent(request.url)}` : '';
      return reply.redirect(`${login}${next}`, 303);
    }
    if (access !== SIGNED_IN) assertCapability(request, access);
  };
}

/**
 * Adds the access rules to every plane route as it is registered, from the route's own
 * `config.capability`: a route without one fails at startup, so none can be forgotten. The
 * CSRF check of a state-changing route runs last, after the route's own preHandlers, so that a
 * throttle counts the attempt before a missing token can refuse it.
 */
export default fp(
  async (app) => {
    app.decorate('consoleRoutes', []);
    app.addHook('onRoute', (route: RouteOptions) => {
      const plane = planeOf(route.url);
      if (!plane) return;
      const access = route.config?.capability;
      if (!access) {
        throw new Error(`${String(route.method)} ${route.url} declares no access: set config.capability to a capability, PUBLIC or SIGNED_IN`);
      }
      const methods = [route.method].flat();
      for (const method of methods) app.consoleRoutes.push({ method, url: route.url, access });
      const own = [route.preHandler ?? []].flat() as preHandlerHookHandler[];
      const csrf = methods.some((method) => !SAFE_METHODS.has(method)) ? [app.csrfProtection as preHandlerHookHandler] : [];
      route.preHandler = [requireAccess(plane, access), ...own, ...csrf];
    });
  },
  { name: 'auth', dependencies: ['sessions', 'capabilities', 'csrf'] },
);
