import type { FastifyPluginAsync } from 'fastify';
import { firstLine } from '../../errors.js';
import { pingTemporal } from '../../temporal/connection.js';

interface Check {
  ok: boolean;
  error?: string;
}

async function check(probe: () => Promise<unknown>): Promise<Check> {
  try {
    await probe();
    return { ok: true };
  } catch (error) {
    return { ok: false, error: firstLine(error) };
  }
}

/** Liveness of both dependencies: 200 when PostgreSQL and Temporal answer, 503 otherwise. */
export const healthzRoutes: FastifyPluginAsync = async (app) => {
  app.get('/healthz', async (_request, reply) => {
    const [database, temporal] = await Promise.all([
      check(() => app.deps.database.pool.query('SELECT 1')),
      check(() => pingTemporal(app.deps.temporal)),
    ]);
    const ok = database.ok && temporal.ok;
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', database, temporal });
  });
};
