import fastifyRateLimit from '@fastify/rate-limit';
import fp from 'fastify-plugin';
import { TooManyRequestsError } from '../../httpErrors.js';

/**
 * Throttling for the routes that ask for it (`app.rateLimit(...)` in a route's preHandler);
 * nothing is limited globally. Counts live in this process's memory.
 */
export default fp(
  async (app) => {
    await app.register(fastifyRateLimit, {
      global: false,
      errorResponseBuilder: (_request, context) => new TooManyRequestsError(Math.max(1, Math.ceil(context.ttl / 1000))),
    });
  },
  { name: 'rate-limit' },
);
