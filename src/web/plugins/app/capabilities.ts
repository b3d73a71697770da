import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Capability } from '../../../runbooks/capabilities.js';
import { ForbiddenError } from '../../httpErrors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Whether the signed-in operator holds the capability (false when signed out). */
    can(capability: Capability): boolean;
  }
}

/** A route's capability check: the signed-in operator without it gets 403. */
export function assertCapability(request: FastifyRequest, capability: Capability): void {
  if (!request.can(capability)) {
    throw new ForbiddenError(`You need the capability ${capability} for this page; ask a platform admin to grant it.`);
  }
}

export default fp(
  async (app) => {
    app.decorateRequest('can', function can(this: FastifyRequest, capability: Capability) {
      return this.session?.operator?.capabilities.includes(capability) ?? false;
    });
  },
  { name: 'capabilities', dependencies: ['sessions'] },
);
