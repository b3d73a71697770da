import type { FastifyPluginAsync } from 'fastify';
import { pingTemporal } from '../../temporal/connection.js';

type Health = 'ok' | 'unavailable';

/**
 * Liveness of both dependencies for anyone who asks: 200 when PostgreSQL and Temporal answer,
 * 503 naming the one that does not. The driver's detail (addresses, errors) goes to the log,
 * never to an anonymous caller.
 */
export const healthzRoutes: FastifyPluginAsync = async (app) => {
  app.get('/healthz', async (request, reply) => {
    const check = async (dependency: string, probe: () => Promise<unknown>): Promise<Health> => {
      try {
        await probe();
        return 'ok';
      } catch (error) {
        request.log.warn({ dependency, err: error }, `health check: ${dependency} unavailable`);
        return 'unavailable';
      }
    };
    const [database, temporal] = await Promise.all([
      check('database', () => app.deps.database.pool.query('SELECT 1')),
      check('temporal', () => pingTemporal(app.deps.temporal)),
    ]);
    const ok = database === 'ok' && temporal === 'ok';
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', database, temporal });
  });
};
