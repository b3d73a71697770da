import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { approveChange, rejectChange, withdrawChange } from '../../../../runbooks/approvals/decideChange.js';
import {
  getChangeRequest,
  listChangeRequests,
  type ChangeRequestRecord,
} from '../../../../runbooks/approvals/changeRequests.js';
import { CAPABILITIES } from '../../../../runbooks/capabilities.js';
import { loadPreflight } from '../../../../runbooks/preflight.js';
import { RunbookRefusal } from '../../../../runbooks/refusal.js';
import { tenantNamesOf } from '../../../../runbooks/tenantNames.js';
import { NotFoundError } from '../../../httpErrors.js';
import { initiatorOf } from '../../../plugins/app/auth.js';
import { CSRF_FIELD, NO_QUERY, RUN_ID } from '../../../schemas.js';
import { reportView } from '../runbooks/views.js';
import { sendNotice } from '../runs/notice.js';
import { decisionNotice } from './notice.js';
import { voidReasonOf } from '../../../../runbooks/approvals/voidReason.js';
import {
  actionRefusal,
  CHANGE_ACTIONS,
  changeDetailView,
  changeHref,
  changeListView,
  decisionView,
  type ChangeAction,
  type ChangeViewer,
  type DecisionFields,
} from './views.js';

/** Requests on a page of the "every request" list. */
const PAGE_SIZE = 50;

// A change request's id is a UUID like a run's: anything else names no page (a 404).
const idParams = { type: 'object', required: ['id'], properties: { id: RUN_ID } } as const;

// `before`: the last request of the previous page.
const listQuery = {
  type: 'object',
  properties: { before: RUN_ID },
  additionalProperties: false,
} as const;

// Longer than the core allows, so that a comment a little too long gets the core's message by the field.
const decisionBody = {
  type: 'object',
  properties: { ...CSRF_FIELD, comment: { type: 'string', maxLength: 4000 } },
  additionalProperties: false,
} as const;

/** Who may take each action: deciding needs `approve`; withdrawing is the requester's own (the core checks). */
const ACCESS: Record<ChangeAction, typeof CAPABILITIES.runsApprove | typeof CAPABILITIES.runsView> = {
  approve: CAPABILITIES.runsApprove,
  reject: CAPABILITIES.runsApprove,
  withdraw: CAPABILITIES.runsView,
};

/** Refusals that say the person may not do this at all (403); the others are fixed in the form (422). */
const FORBIDDEN = new Set(['capability', 'self_approval', 'not_requester']);

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

/** Every route here admits operators only: the access rule has admitted one before the handler runs. */
function viewerOf(request: FastifyRequest): ChangeViewer {
  const { operator } = request.session;
  if (!operator) throw new Error(`${request.method} ${request.url} has no signed-in operator`);
  return { platformUserId: operator.id, canApprove: request.can(CAPABILITIES.runsApprove) };
}

/**
 * The approvals pages: `GET /system/ops/changes` (the requests waiting, and every request a page
 * at a time), a request's page, and per request the approve, reject and withdraw actions, each a
 * confirmation page with a comment before the POST that decides through the one engine
 * (runbooks/approvals/decideChange.ts). The last approval starts the run and leads to it.
 */
export const changesRoutes: FastifyPluginAsync = async (app) => {
  const { pool } = app.deps.database;
  const deps = { pool, launcher: app.launcher, approvals: app.deps.config.approvals };
  const secure = app.deps.config.cookieSecure;

  const changeOr404 = async (id: string): Promise<ChangeRequestRecord> => {
    const change = await getChangeRequest(pool, id);
    if (!change) throw new NotFoundError();
    return change;
  };

  app.get<{ Querystring: { before?: string } }>(
    '/system/ops/changes',
    { schema: { querystring: listQuery }, config: { capability: CAPABILITIES.runsView } },
    async (request, reply) => {
      const { before } = request.query;
      // The keyset is the last request's filing time (an unknown cursor is an empty page).
      const cursor = before ? await getChangeRequest(pool, before) : null;
      const [open, rows] = await Promise.all([
        listChangeRequests(pool, { open: true }),
        before && !cursor
          ? []
          : listChangeRequests(pool, { open: false, before: cursor?.createdAt, limit: PAGE_SIZE + 1 }),
      ]);
      const recent = rows.slice(0, PAGE_SIZE);
      const model = changeListView({
        open,
        recent,
        now: new Date(),
        next: rows.length > PAGE_SIZE ? `/system/ops/changes?before=${recent.at(-1)!.id}` : null,
        first: before ? '/system/ops/changes' : null,
        canApprove: request.can(CAPABILITIES.runsApprove),
      });
      return reply.page('system/changes', model, { title: 'Approvals' });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/system/ops/changes/:id',
    { schema: { params: idParams, querystring: NO_QUERY }, config: { capability: CAPABILITIES.runsView } },
    async (request, reply) => {
      const change = await changeOr404(request.params.id);
      const [preflight, voidReason] = await Promise.all([
        loadPreflight(pool, change.preflightId),
        change.status === 'voided' ? voidReasonOf(pool, change.id) : null,
      ]);
      const names = preflight
        ? await tenantNamesOf(
            pool,
            preflight.report.topTenants.map((tenant) => tenant.externalId),
          )
        : new Map<string, string>();
      const model = changeDetailView(change, {
        now: new Date(),
        viewer: viewerOf(request),
        report: preflight ? reportView(preflight.report, names) : null,
        voidReason,
        notice: decisionNotice.take(request, reply, change.id),
      });
      return reply.page('system/change', model, { title: model.title });
    },
  );

  /** A decision that does not apply (403: not theirs to take; 409: the request is closed): why, and the way back. */
  const refused = (reply: FastifyReply, change: ChangeRequestRecord, status: 403 | 409, message: string) =>
    reply.page(
      'system/changeRefused',
      { title: status === 403 ? 'Not allowed' : 'Nothing to decide now', message, href: changeHref(change.id) },
      { title: 'Change request', status },
    );

  const renderDecision = (
    reply: FastifyReply,
    change: ChangeRequestRecord,
    action: ChangeAction,
    fields: DecisionFields,
    problem: string | null,
    status: number,
  ) => {
    const model = decisionView(change, action, { fields, problem, csrfToken: reply.generateCsrf(), now: new Date() });
    return reply.page('system/changeDecision', model, { title: model.title, status });
  };

  /** Runs one decision through the engine, and says where its answer leads. */
  const decide = async (request: IdRequest, action: ChangeAction, comment: string, reply: FastifyReply) => {
    const { initiator, context } = initiatorOf(request);
    const asked = { changeRequestId: request.params.id, by: initiator, context };
    if (action === 'approve') {
      const outcome = await approveChange(deps, { ...asked, comment });
      if (outcome.state === 'started') {
        sendNotice(reply, outcome.run.id, 'approved', secure);
        return `/system/ops/runs/${outcome.run.id}`;
      }
      decisionNotice.send(reply, outcome.changeRequest.id, outcome.state === 'voided' ? 'voided' : 'approved', secure);
      return changeHref(outcome.changeRequest.id);
    }
    const decided =
      action === 'reject'
        ? await rejectChange(deps, { ...asked, comment })
        : await withdrawChange(deps, { ...asked, comment: comment.trim() || undefined });
    decisionNotice.send(reply, decided.id, action === 'reject' ? 'rejected' : 'withdrawn', secure);
    return changeHref(decided.id);
  };

  for (const action of CHANGE_ACTIONS) {
    const url = `/system/ops/changes/:id/${action}`;
    const config = { capability: ACCESS[action] };

    app.get<{ Params: { id: string } }>(
      url,
      { schema: { params: idParams, querystring: NO_QUERY }, config },
      async (request, reply) => {
        const change = await changeOr404(request.params.id);
        // Offered only where it applies, as the request page's buttons are: otherwise why not, and no form.
        const refusal = actionRefusal(change, action, viewerOf(request), new Date());
        if (refusal) return refused(reply, change, refusal.status, refusal.message);
        return renderDecision(reply, change, action, { comment: '' }, null, 200);
      },
    );

    app.post<{ Params: { id: string }; Body: { comment?: string } }>(
      url,
      { schema: { params: idParams, querystring: NO_QUERY, body: decisionBody }, config },
      async (request, reply) => {
        const fields = { comment: request.body?.comment ?? '' };
        try {
          return reply.seeOther(await decide(request, action, fields.comment, reply));
        } catch (error) {
          if (!(error instanceof RunbookRefusal)) throw error;
          if (error.code === 'change_not_found') throw new NotFoundError();
          // The request as it is now (another decision may have closed it), shown again with what to do.
          const change = await changeOr404(request.params.id);
          if (error.code === 'change_closed') return refused(reply, change, 409, error.message);
          if (FORBIDDEN.has(error.code)) return refused(reply, change, 403, error.message);
          return renderDecision(reply, change, action, fields, error.message, 422);
        }
      },
    );
  }
};
