import type { FastifyPluginAsync } from 'fastify';
import { CAPABILITIES } from '../../../../runbooks/capabilities.js';
import { searchTenants, TENANT_SEARCH_LIMIT } from '../../../../runbooks/searchTenants.js';
import { PLAIN_TEXT } from '../../../schemas.js';

const tenantsQuery = {
  type: 'object',
  // No control characters: PostgreSQL refuses NUL in text, and no tenant has any.
  properties: { q: { type: 'string', maxLength: 200, pattern: PLAIN_TEXT } },
  additionalProperties: false,
} as const;

/** The runbooks page with this tenant filled in as every runbook's one-tenant scope. */
const runbooksFor = (externalId: string) => `/system/ops/runbooks?tenant=${encodeURIComponent(externalId)}`;

/**
 * `GET /system/ops/tenants?q=`: customer tenants by external id or name, to fill a runbook's
 * scope. htmx gets the `<option>`s of the scope form's list; a browser without it a page whose
 * results each link to the runbooks with that tenant as the scope.
 */
export const tenantsRoutes: FastifyPluginAsync = async (app) => {
  app.get<{ Querystring: { q?: string } }>(
    '/system/ops/tenants',
    { schema: { querystring: tenantsQuery }, config: { capability: CAPABILITIES.runbooksRun } },
    async (request, reply) => {
      const q = request.query.q ?? '';
      const tenants = (await searchTenants(app.deps.database.pool, q)).map((tenant) => ({
        ...tenant,
        href: runbooksFor(tenant.externalId),
      }));
      const model = { q, tenants, limit: TENANT_SEARCH_LIMIT };
      return reply.pageOrPartial(
        { view: 'partials/tenants/options', model },
        () => ({ view: 'system/tenants', model }),
        { title: 'Tenants' },
      );
    },
  );
};
