import type { FastifyPluginAsync } from 'fastify';
import { CAPABILITIES } from '../../../../runbooks/capabilities.js';
import { RUNBOOKS } from '../../../../runbooks/registry.js';
import { RUN_STATUSES, type RunStatus } from '../../../../runbooks/runStatus.js';
import { getRun, getRunAuditTrail, getRunItems, listRuns } from '../../../../runbooks/runs.js';
import { NotFoundError } from '../../../httpErrors.js';
import { runDetailView, runListView } from './views.js';

const RUNBOOK_IDS = RUNBOOKS.map((runbook) => runbook.id);

interface RunsQuery {
  status?: RunStatus | '';
  runbook?: string;
}

const runsQuery = {
  type: 'object',
  properties: {
    // '' is the form's "any".
    status: { type: 'string', enum: ['', ...RUN_STATUSES] },
    runbook: { type: 'string', enum: ['', ...RUNBOOK_IDS] },
  },
  additionalProperties: false,
} as const;

const runParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', format: 'uuid' } },
} as const;

// `started=1`: the console's own redirect after a start, for the toast.
const runQuery = { type: 'object', properties: { started: { type: 'string', enum: ['1'] } }, additionalProperties: false } as const;

/** `GET /system/ops/runs` (newest first, filtered) and `GET /system/ops/runs/:id`. */
export const runsRoutes: FastifyPluginAsync = async (app) => {
  const pool = app.deps.database.pool;

  app.get<{ Querystring: RunsQuery }>(
    '/system/ops/runs',
    { schema: { querystring: runsQuery }, config: { capability: CAPABILITIES.runsView } },
    async (request, reply) => {
      const filter = { status: request.query.status || undefined, runbook: request.query.runbook || undefined };
      const runs = await listRuns(pool, { ...filter, limit: 50 });
      return reply.page(
        'system/runs',
        { runs: runs.map(runListView), filter, statuses: RUN_STATUSES, runbooks: RUNBOOKS.map(({ id, title }) => ({ id, title })) },
        { title: 'Runs' },
      );
    },
  );

  app.get<{ Params: { id: string }; Querystring: { started?: '1' } }>(
    '/system/ops/runs/:id',
    { schema: { params: runParams, querystring: runQuery }, config: { capability: CAPABILITIES.runsView } },
    async (request, reply) => {
      const run = await getRun(pool, request.params.id);
      if (!run) throw new NotFoundError();
      const [items, audit] = await Promise.all([getRunItems(pool, run.id), getRunAuditTrail(pool, run.id)]);
      return reply.page('system/run', runDetailView(run, items, audit, { started: request.query.started === '1' }), { title: 'Run' });
    },
  );
};
