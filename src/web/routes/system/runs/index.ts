import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ReadCache } from '../../../../db/readCache.js';
import { CAPABILITIES } from '../../../../runbooks/capabilities.js';
import { actionRefusal, controlRun, tuneRun, type RunAction } from '../../../../runbooks/control.js';
import { EXPORT_FORMATS, type ExportFormat } from '../../../../runbooks/exportFormats.js';
import { exportCsv, exportRun } from '../../../../runbooks/exportRun.js';
import { GATE_FIELD_NAMES, parseGateChange, type GateFieldName } from '../../../../runbooks/health/gateFields.js';
import { parseBatchSize, parseBatchTarget } from '../../../../runbooks/sizing/batchSizeText.js';
import { RunbookRefusal } from '../../../../runbooks/refusal.js';
import { RUNBOOKS } from '../../../../runbooks/registry.js';
import { currentStop } from '../../../../runbooks/stopAll.js';
import { utcTime } from '../../../../format.js';
import { findRetriesOf, getRun, listRunSummaries, normalizeRunId, type RunRecord } from '../../../../runbooks/runs.js';
import { watchRun, type RunWatch } from '../../../../runbooks/runWatch.js';
import { ForbiddenError, HttpError, NotFoundError } from '../../../httpErrors.js';
import { initiatorOf } from '../../../plugins/app/auth.js';
import {
  actionView,
  auditView,
  emptyActionFields,
  gateLabel,
  liveView,
  OVERRIDE_NEEDED,
  pausedByWindow,
  runDetailView,
  runListView,
  tenantsView,
  type ActionFields,
} from './views.js';
import { sendNotice, takeNotice } from './notice.js';
import { CSRF_FIELD, NO_QUERY, PLAIN_TEXT, RUN_ID } from '../../../schemas.js';
import { RUN_FILTERS, type RunFilter } from '../../../../runbooks/model.js';

const RUNBOOK_IDS = RUNBOOKS.map((runbook) => runbook.id);
const PAGE_SIZE = 50;
const ACTIONS = ['cancel', 'pause', 'resume', 'tune'] as const;
type Action = (typeof ACTIONS)[number];

/** Tenants listed on the run page; the export has them all. */
const SHOWN_ITEMS = 100;

interface RunsQuery {
  status?: RunFilter | '';
  runbook?: string;
  initiator?: string;
  before?: string;
}

const runsQuery = {
  type: 'object',
  properties: {
    // '' is the form's "any".
    status: { type: 'string', enum: ['', ...RUN_FILTERS] },
    runbook: { type: 'string', enum: ['', ...RUNBOOK_IDS] },
    initiator: { type: 'string', maxLength: 200, pattern: PLAIN_TEXT },
    before: RUN_ID,
  },
  additionalProperties: false,
} as const;

const runParams = { type: 'object', required: ['id'], properties: { id: RUN_ID } } as const;
const actionParams = {
  type: 'object',
  required: ['id', 'action'],
  properties: { id: RUN_ID, action: { type: 'string', enum: ACTIONS } },
} as const;

const exportQuery = {
  type: 'object',
  properties: { format: { type: 'string', enum: EXPORT_FORMATS } },
  additionalProperties: false,
} as const;

// Numbers arrive as form text; empty means "keep". The range is the workflow validator's to refuse, in its words.
const wholeNumberText = { type: 'string', maxLength: 12, pattern: '^\\s*[0-9]*\\s*$' } as const;
const actionBody = {
  type: 'object',
  properties: {
    ...CSRF_FIELD,
    reason: { type: 'string', maxLength: 4000 },
    parallelism: wholeNumberText,
    // "auto" or rows, and a duration; parsed by the engine's own rules.
    batchSize: { type: 'string', maxLength: 12 },
    batchTarget: { type: 'string', maxLength: 40 },
    // Health-gate thresholds as people write them (5s, 80%); parsed by the engine's own rules.
    ...Object.fromEntries(GATE_FIELD_NAMES.map((name) => [name, { type: 'string', maxLength: 40 }])),
  },
  additionalProperties: false,
} as const;

type ActionBody = { reason?: string; parallelism?: string; batchSize?: string; batchTarget?: string } & Partial<
  Record<GateFieldName, string>
>;

type ActionRequest = FastifyRequest<{ Params: { id: string; action: Action }; Body: ActionBody }>;

async function runOr404(pool: Parameters<typeof getRun>[0], id: string): Promise<RunRecord> {
  const run = await getRun(pool, id);
  if (!run) throw new NotFoundError();
  return run;
}

const numberOrUndefined = (text: string | undefined) =>
  text === undefined || text.trim() === '' ? undefined : Number(text.trim());

/** The tune form's batch size ("auto" or rows) and target duration; empty keeps them. */
function sizingOf(fields: ActionFields): { batchSize?: number | 'auto'; batchTargetMs?: number } {
  const size = fields.batchSize === '' ? undefined : parseBatchSize(fields.batchSize);
  if (typeof size === 'string') throw new RunbookRefusal('invalid_tuning', `Batch size: ${size}.`);
  const target = fields.batchTarget === '' ? undefined : parseBatchTarget(fields.batchTarget);
  if (typeof target === 'string') throw new RunbookRefusal('invalid_tuning', `Batch target: ${target}.`);
  return {
    ...(size && { batchSize: 'auto' in size ? ('auto' as const) : size.rows }),
    ...(target === undefined ? {} : { batchTargetMs: target }),
  };
}

/**
 * The runs list (newest first, filtered, keyset pages), a run's page with its live part
 * (`…/progress`, polled while the run is active), its exports, and the cancel, pause, resume
 * and tune actions, each a confirmation step with a reason before the POST that does it.
 */
export const runsRoutes: FastifyPluginAsync = async (app) => {
  const pool = app.deps.database.pool;
  const controlDeps = { pool, launcher: app.launcher };
  // Every open run page polls, and every operator opens the list: both are kept while the runs
  // they read have not changed (a run's poll by its id, and on any tenant's change, whose
  // external ids its items show; the list pages on any run's change). A list page is kept
  // rendered, for a second at most: its ages ("3 min ago") are as of then.
  const watches = new ReadCache<RunWatch>({
    feed: app.changeFeed,
    dependsOn: { operation_runs: 'key', operation_run_items: 'key', audit_events: 'key', tenants: 'all' },
  });
  const listBodies = new ReadCache<string>({
    feed: app.changeFeed,
    dependsOn: { operation_runs: 'all' },
    ttlMs: 1_000,
  });
  // The cache's key is the run id as the triggers spell it (lower case).
  const watch = (id: string) => {
    const runId = normalizeRunId(id);
    return runId ? watches.read(runId, () => watchRun(pool, runId, SHOWN_ITEMS)) : Promise.resolve(null);
  };

  app.get<{ Querystring: RunsQuery }>(
    '/system/ops/runs',
    { schema: { querystring: runsQuery }, config: { capability: CAPABILITIES.runsView } },
    async (request, reply) => {
      const filter = {
        status: request.query.status || undefined,
        runbook: request.query.runbook || undefined,
        initiator: request.query.initiator?.trim() || undefined,
      };
      // One more than a page tells whether there is a next one.
      const page = { ...filter, before: request.query.before, limit: PAGE_SIZE + 1 };
      const render = async () => {
        const rows = await listRunSummaries(pool, page);
        const now = new Date();
        const runs = rows.slice(0, PAGE_SIZE).map((run) => runListView(run, now));
        // Every filter is in the URL, so a filtered list can be shared and paged.
        const query = (changed: Record<string, string | undefined>) => {
          const params = Object.entries({ ...filter, ...changed }).filter(
            (entry): entry is [string, string] => entry[1] !== undefined,
          );
          return `/system/ops/runs${params.length ? `?${new URLSearchParams(params).toString()}` : ''}`;
        };
        return app.renderView('system/runs', {
          runs: runs.map((run) => ({ ...run, initiatorHref: query({ initiator: run.initiator }) })),
          filter,
          statuses: RUN_FILTERS.map((status) => ({ value: status, label: status.replace('_', ' ') })),
          runbooks: RUNBOOKS.map(({ id, title }) => ({ id, title })),
          next: rows.length > PAGE_SIZE ? query({ before: runs.at(-1)!.id }) : null,
          first: request.query.before ? query({}) : null,
          clear: filter.status || filter.runbook || filter.initiator ? '/system/ops/runs' : null,
        });
      };
      // The stop's banner is the operator's own (who may lift it), above the list every operator shares.
      const stop = await currentStop(pool);
      const banner = app.renderView('partials/runs/stopBanner', {
        stop: stop && { ...stop, since: utcTime(stop.stoppedAt) },
        canManage: request.can(CAPABILITIES.runsManage),
      });
      return reply.renderedPage(banner + (await listBodies.read(JSON.stringify(page), render))!, { title: 'Runs' });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/system/ops/runs/:id',
    { schema: { params: runParams, querystring: NO_QUERY }, config: { capability: CAPABILITIES.runsView } },
    async (request, reply) => {
      const [run, watched] = await Promise.all([getRun(pool, request.params.id), watch(request.params.id)]);
      if (!run || !watched) throw new NotFoundError();
      const { config } = app.deps;
      const model = runDetailView(run, watched, {
        now: new Date(),
        canManage: request.can(CAPABILITIES.runsManage),
        canOverride: request.can(CAPABILITIES.windowsOverride),
        canRetry: request.can(CAPABILITIES.runbooksRun),
        csrfToken: reply.generateCsrf(),
        temporalUiUrl: config.temporalUiUrl,
        temporalNamespace: config.temporal.namespace,
        retries: await findRetriesOf(pool, run.id),
        notice: takeNotice(request, reply, run.id),
      });
      // Without JavaScript nothing polls: an active run's page reloads itself instead.
      return reply.page('system/run', model, {
        title: model.title,
        refreshSeconds: watched.run.status === 'completed' ? undefined : 5,
      });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/system/ops/runs/:id/progress',
    {
      schema: { params: runParams, querystring: NO_QUERY },
      config: { capability: CAPABILITIES.runsView, background: true },
    },
    async (request, reply) => {
      const watched = await watch(request.params.id);
      if (!watched) throw new NotFoundError();
      const live = liveView(watched, {
        now: new Date(),
        canManage: request.can(CAPABILITIES.runsManage),
        canOverride: request.can(CAPABILITIES.windowsOverride),
      });
      // The header's notification count listens for this, to show the run's notification.
      if (watched.run.status === 'completed') reply.header('hx-trigger', 'runCompleted');
      return reply.pageOrPartial(
        {
          view: 'partials/runs/poll',
          model: { live, tenants: tenantsView(watched), audit: auditView(watched.audit) },
        },
        () => ({ view: 'system/runPoll', model: { live, id: watched.run.id } }),
        { title: 'Run progress' },
      );
    },
  );

  app.get<{ Params: { id: string }; Querystring: { format?: ExportFormat } }>(
    '/system/ops/runs/:id/export',
    { schema: { params: runParams, querystring: exportQuery }, config: { capability: CAPABILITIES.runsView } },
    async (request, reply) => {
      const format = request.query.format ?? 'csv';
      const download = (id: string) =>
        reply
          .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8')
          .header('content-disposition', `attachment; filename="run-${id}.${format}"`);
      // HEAD answers what GET would, without exporting: only a download is audited.
      if (request.method === 'HEAD') return download((await runOr404(pool, request.params.id)).id).send();
      const { initiator, context } = initiatorOf(request);
      const exported = await exportRun(pool, { runId: request.params.id, initiator, context }).catch(
        (error: unknown) => {
          throw error instanceof RunbookRefusal && error.code === 'run_not_found' ? new NotFoundError() : error;
        },
      );
      return download(exported.run.id).send(
        format === 'csv' ? exportCsv(exported) : `${JSON.stringify(exported, null, 2)}\n`,
      );
    },
  );

  const renderAction = (
    request: ActionRequest,
    reply: FastifyReply,
    run: RunRecord,
    fields: ActionFields,
    problems: { top: string | null; reason: string | null; tuning: string | null },
    status: number,
  ) => {
    const model = actionView(run, request.params.action, fields, problems, reply.generateCsrf());
    return reply.pageOrPartial({ view: 'partials/runs/action', model }, () => ({ view: 'system/runAction', model }), {
      title: model.title,
      status,
    });
  };

  app.get<{ Params: { id: string; action: Action } }>(
    '/system/ops/runs/:id/actions/:action',
    { schema: { params: actionParams, querystring: NO_QUERY }, config: { capability: CAPABILITIES.runsManage } },
    async (request, reply) => {
      const run = await runOr404(pool, request.params.id);
      // Offered only where it applies, as the run page's buttons are: otherwise why not, and no form.
      const refusal = actionRefusal(run, request.params.action);
      if (refusal) throw new HttpError(409, refusal.message);
      // Resuming a run its change window paused is an override: offered only to those who may.
      if (request.params.action === 'resume' && pausedByWindow(run) && !request.can(CAPABILITIES.windowsOverride))
        throw new ForbiddenError(OVERRIDE_NEEDED);
      return renderAction(
        request as ActionRequest,
        reply,
        run,
        emptyActionFields(),
        { top: null, reason: null, tuning: null },
        200,
      );
    },
  );

  app.post<{ Params: { id: string; action: Action }; Body: ActionBody }>(
    '/system/ops/runs/:id/actions/:action',
    {
      schema: { params: actionParams, querystring: NO_QUERY, body: actionBody },
      config: { capability: CAPABILITIES.runsManage },
    },
    async (request, reply) => {
      // The schema admits only a UUID; the core reads the run itself (one read on success).
      const runId = normalizeRunId(request.params.id)!;
      const body = request.body ?? {};
      const fields: ActionFields = {
        reason: body.reason ?? '',
        parallelism: body.parallelism?.trim() ?? '',
        batchSize: body.batchSize?.trim() ?? '',
        batchTarget: body.batchTarget?.trim() ?? '',
        ...(Object.fromEntries(GATE_FIELD_NAMES.map((name) => [name, body[name]?.trim() ?? ''])) as Record<
          GateFieldName,
          string
        >),
      };
      const { initiator, context } = initiatorOf(request);
      const { action } = request.params;
      const asked = { runId, initiator, context, source: 'system_ui' as const, reason: fields.reason };
      try {
        if (action === 'tune') {
          const gates = parseGateChange(fields, gateLabel);
          if ('problem' in gates) throw new RunbookRefusal('invalid_tuning', gates.problem);
          await tuneRun(controlDeps, {
            ...asked,
            parallelism: numberOrUndefined(fields.parallelism),
            ...sizingOf(fields),
            gates: gates.change,
          });
        } else {
          await controlRun(controlDeps, asked, action satisfies RunAction);
        }
        sendNotice(reply, runId, action, app.deps.config.cookieSecure);
        return reply.seeOther(`/system/ops/runs/${runId}`);
      } catch (error) {
        if (!(error instanceof RunbookRefusal)) throw error;
        // Not theirs to do (an override of the change window without its capability): no form to fix.
        if (error.code === 'capability') throw new ForbiddenError(error.message);
        // The run as it is now (it may have completed meanwhile), shown again with what to fix.
        const run = await runOr404(pool, runId);
        const byField =
          error.code === 'reason_length' || error.code === 'reason_characters'
            ? { top: null, reason: error.message, tuning: null }
            : error.code === 'invalid_tuning'
              ? { top: null, reason: null, tuning: error.message }
              : { top: error.message, reason: null, tuning: null };
        return renderAction(request, reply, run, fields, byField, 422);
      }
    },
  );
};
