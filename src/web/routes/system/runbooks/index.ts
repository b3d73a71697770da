import type { FastifyPluginAsync } from 'fastify';
import { CAPABILITIES } from '../../../../runbooks/capabilities.js';
import { RUNBOOKS } from '../../../../runbooks/registry.js';

const noQuery = { type: 'object', properties: {}, additionalProperties: false } as const;

/** `GET /system/ops/runbooks`: the runbooks an operator can run, each with what it does. */
export const runbooksRoutes: FastifyPluginAsync = async (app) => {
  app.get(
    '/system/ops/runbooks',
    { schema: { querystring: noQuery }, config: { capability: CAPABILITIES.runbooksView } },
    async (_request, reply) =>
      reply.page(
        'system/runbooks',
        { runbooks: RUNBOOKS.map(({ id, title, description }) => ({ id, title, description })) },
        { title: 'Runbooks' },
      ),
  );
};
