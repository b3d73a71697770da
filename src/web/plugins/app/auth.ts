import type {
  FastifyReply,
  FastifyRequest,
  RouteOptions,
  preHandlerHookHandler,
  preValidationAsyncHookHandler,
  preValidationHookHandler,
} from 'fastify';
import fp from 'fastify-plugin';
import type { Customer, Plane } from '../../../auth/sessions.js';
import type { Capability } from '../../../runbooks/capabilities.js';
import type { Initiator, RequestContext } from '../../../runbooks/initiator.js';
import { NotFoundError } from '../../httpErrors.js';
import { loginPathOf, planeOf } from '../../planes.js';
import { SAFE_METHODS } from '../../safeMethods.js';
import { assertCapability } from './capabilities.js';

/** Anyone may use the route (the sign-in pages). */
export const PUBLIC = 'public';
/** Any signed-in operator may use the route, whatever their capabilities (sign-out). */
export const SIGNED_IN = 'signed-in';
/** Any signed-in customer of the `/admin` plane (their own tenant's pages, sign-out). */
export const CUSTOMER = 'customer';
export type RouteAccess = Capability | typeof PUBLIC | typeof SIGNED_IN | typeof CUSTOMER;

/**
 * What a plane's routes may declare: `/system` admits operators (signed in, or by
 * capability), `/admin` only customers, so no operator capability ever admits anyone there.
 */
const PLANE_ACCESS: Record<Plane, { allows: (access: RouteAccess) => boolean; choices: string }> = {
  system: { allows: (access) => access !== CUSTOMER, choices: 'a capability, PUBLIC or SIGNED_IN' },
  admin: { allows: (access) => access === PUBLIC || access === CUSTOMER, choices: 'PUBLIC or CUSTOMER' },
};

/** A route of a plane, as the access rules see it. */
export interface ConsoleRoute {
  method: string;
  url: string;
  access: RouteAccess;
  /** What the route takes (params, query, body), for checks that send it every field it names. */
  schema: RouteOptions['schema'];
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may use the route; required on every `/system` and `/admin` route (see PLANE_ACCESS). */
    capability?: RouteAccess;
  }
  interface FastifyInstance {
    /** Every plane route with its declared access, in registration order. */
    consoleRoutes: ConsoleRoute[];
  }
}

/**
 * The signed-in operator (on `/system`) or customer (on `/admin`) as the runbook core knows
 * them, with where the request came from, for a route whose access rule has admitted one.
 */
export function initiatorOf(request: FastifyRequest): { initiator: Initiator; context: RequestContext } {
  const { operator, customer } = request.session;
  const context = { ip: request.ip, userAgent: request.headers['user-agent']?.slice(0, 500) ?? null };
  if (operator) {
    return {
      initiator: { kind: 'platform_user', id: operator.id, email: operator.email, capabilities: operator.capabilities },
      context,
    };
  }
  if (customer) {
    return {
      initiator: {
        kind: 'customer',
        id: customer.id,
        email: customer.email,
        tenantExternalId: customer.tenantExternalId,
      },
      context,
    };
  }
  throw new Error(`${request.method} ${request.url} has no signed-in user; is its access rule PUBLIC?`);
}

/** The signed-in customer of an `/admin` route whose access rule is CUSTOMER. */
export function customerOf(request: FastifyRequest): Customer {
  const { customer } = request.session;
  if (!customer)
    throw new Error(`${request.method} ${request.url} has no signed-in customer; is its access rule CUSTOMER?`);
  return customer;
}

/**
 * The access rules of a plane route, in order: on `/system`, a visitor with only an `/admin`
 * session gets the unknown-URL 404 (the console does not admit it exists); a visitor who is
 * not signed in to the route's plane is sent to its sign-in; an operator needs the route's
 * capability.
 */
function requireAccess(plane: Plane, access: RouteAccess): preValidationAsyncHookHandler {
  const login = loginPathOf(plane);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const { operator, customer, otherPlaneOnly } = request.session;
    const signedIn = plane === 'system' ? operator !== null : customer !== null;
    if (!signedIn && otherPlaneOnly) throw new NotFoundError();
    if (access === PUBLIC) return;
    if (!signedIn) {
      // Only a page is worth returning to; a POST's form is gone after sign-in anyway.
      const next = SAFE_METHODS.has(request.method) ? `?next=${encodeURIComponent(request.url)}` : '';
      return reply.redirect(`${login}${next}`, 303);
    }
    if (access !== SIGNED_IN && access !== CUSTOMER) assertCapability(request, access);
  };
}

/**
 * Adds the access rules to every plane route as it is registered, from the route's own
 * `config.capability`: a route without one (or with one its plane does not take) fails at
 * startup, so none can be forgotten. The CSRF check of a state-changing route runs last, after
 * the route's own preHandlers, so that a throttle counts the attempt before a missing token
 * can refuse it.
 */
export default fp(
  async (app) => {
    app.decorate('consoleRoutes', []);
    app.addHook('onRoute', (route: RouteOptions) => {
      const plane = planeOf(route.url);
      if (!plane) return;
      const access = route.config?.capability;
      const { allows, choices } = PLANE_ACCESS[plane];
      if (!access)
        throw new Error(`${String(route.method)} ${route.url} declares no access: set config.capability to ${choices}`);
      if (!allows(access))
        throw new Error(`${String(route.method)} ${route.url} declares ${access}; a /${plane} route takes ${choices}`);
      const methods = [route.method].flat();
      for (const method of methods) app.consoleRoutes.push({ method, url: route.url, access, schema: route.schema });
      // Access is decided before the schema looks at the request, so that a visitor who may
      // not use the route learns nothing from how it validates (a malformed id is a 404 or a
      // sign-in for them too, never a 400).
      route.preValidation = [
        requireAccess(plane, access),
        ...[route.preValidation ?? []].flat(),
      ] as preValidationHookHandler[];
      const own = [route.preHandler ?? []].flat() as preHandlerHookHandler[];
      const csrf = methods.some((method) => !SAFE_METHODS.has(method))
        ? [app.csrfProtection.bind(app) as preHandlerHookHandler]
        : [];
      route.preHandler = [...own, ...csrf];
    });
  },
  { name: 'auth', dependencies: ['sessions', 'capabilities', 'csrf'] },
);
