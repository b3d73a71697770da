import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { CUSTOMER, customerOf } from '../../../plugins/app/auth.js';
import { loadFindingStats } from './findingStats.js';
import { listTenantFindings } from './listFindings.js';
import {
  FINDING_STATUSES,
  FINDINGS_PATH,
  findingsPageView,
  MAINTENANCE_TRIGGER_PATH,
  type FindingStatus,
} from './views.js';
import { NO_QUERY } from '../../../schemas.js';

const PAGE_SIZE = 50;

interface FindingsQuery {
  status?: FindingStatus | '';
  before?: string;
  rebuild?: 'queued';
}

const findingsQuery = {
  type: 'object',
  properties: {
    // '' is the form's "any".
    status: { type: 'string', enum: ['', ...FINDING_STATUSES] },
    // The cursor: the id of the last finding of the page before (a safe integer).
    before: { type: 'string', pattern: '^[1-9][0-9]{0,14}$' },
    // The page's own redirect after the maintenance trigger, for the toast.
    rebuild: { type: 'string', enum: ['queued'] },
  },
  additionalProperties: false,
} as const;

/**
 * The findings page of the signed-in customer's own tenant (the tenant comes from the session,
 * never from the request), with the maintenance trigger's form when it is switched on.
 */
export async function renderFindingsPage(
  app: FastifyInstance,
  request: FastifyRequest,
  reply: FastifyReply,
  options: {
    status?: FindingStatus;
    before?: number;
    queued?: boolean;
    triggerProblem?: string | null;
    httpStatus?: number;
  } = {},
): Promise<FastifyReply> {
  const customer = customerOf(request);
  const pool = app.deps.database.pool;
  const [page, stats] = await Promise.all([
    listTenantFindings(pool, {
      tenantId: customer.tenantId,
      status: options.status,
      before: options.before,
      limit: PAGE_SIZE,
    }),
    loadFindingStats(pool, customer.tenantId),
  ]);
  const trigger = app.deps.config.adminMaintenanceTrigger
    ? { action: MAINTENANCE_TRIGGER_PATH, idempotencyKey: randomUUID(), problem: options.triggerProblem ?? null }
    : null;
  const model = findingsPageView({
    customer,
    csrfToken: reply.generateCsrf(),
    status: options.status,
    before: options.before,
    page,
    stats,
    trigger,
    queued: options.queued ?? false,
  });
  return reply.page('admin/findings', model, { title: 'Findings', status: options.httpStatus });
}

/** `GET /admin` (to the findings) and `GET /admin/findings`: read-only, one tenant, newest first. */
export const findingsRoutes: FastifyPluginAsync = async (app) => {
  app.get('/admin', { schema: { querystring: NO_QUERY }, config: { capability: CUSTOMER } }, async (_request, reply) =>
    reply.redirect(FINDINGS_PATH, 303),
  );

  app.get<{ Querystring: FindingsQuery }>(
    FINDINGS_PATH,
    { schema: { querystring: findingsQuery }, config: { capability: CUSTOMER } },
    async (request, reply) =>
      renderFindingsPage(app, request, reply, {
        status: request.query.status || undefined,
        before: request.query.before === undefined ? undefined : Number(request.query.before),
        queued: request.query.rebuild === 'queued',
      }),
  );
};
