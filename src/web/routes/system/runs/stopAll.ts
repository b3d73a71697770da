import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { CAPABILITIES } from '../../../../runbooks/capabilities.js';
import { STOP_ALL_PHRASE } from '../../../../runbooks/model.js';
import { RunbookRefusal } from '../../../../runbooks/refusal.js';
import { currentStop, resumeAllRuns, stopAllRuns } from '../../../../runbooks/stopAll.js';
import { REASON_LENGTH } from '../../../../runbooks/validateStart.js';
import { HttpError } from '../../../httpErrors.js';
import { initiatorOf } from '../../../plugins/app/auth.js';
import { CSRF_FIELD, NO_QUERY } from '../../../schemas.js';

type Switch = 'stop-all' | 'resume-all';

const switchBody = {
  type: 'object',
  properties: {
    ...CSRF_FIELD,
    reason: { type: 'string', maxLength: 4000 },
    confirmation: { type: 'string', maxLength: 100 },
  },
  additionalProperties: false,
} as const;

type SwitchBody = { reason?: string; confirmation?: string };

const TEXT: Record<Switch, { title: string; explain: string; button: string }> = {
  'stop-all': {
    title: 'Stop every run',
    explain:
      'Every active run is paused: its tenants finish the batch they are in and start no other. Every start is refused until someone resumes them all. Runs that are paused already stay as they are.',
    button: 'Stop every run',
  },
  'resume-all': {
    title: 'Resume every run',
    explain:
      'The runs the stop paused, and still paused by it, go on; starts are allowed again. A run someone paused, resumed or cancelled since is left as it is.',
    button: 'Resume every run',
  },
};

/**
 * The one switch for every run (`runs stop-all` / `runs resume-all` at the CLI): a confirmation
 * page with a reason (and, to stop, the typed phrase), then the POST that does it.
 */
export const stopAllRoutes: FastifyPluginAsync = async (app) => {
  const pool = app.deps.database.pool;
  const deps = { pool, launcher: app.launcher };

  const render = (
    reply: FastifyReply,
    action: Switch,
    fields: { reason: string; confirmation: string },
    problem: string | null,
    status: number,
  ) =>
    reply.page(
      'system/stopAll',
      {
        ...TEXT[action],
        action,
        postUrl: `/system/ops/runs/${action}`,
        phrase: action === 'stop-all' ? STOP_ALL_PHRASE : null,
        fields,
        problem,
        reasonMin: REASON_LENGTH.min,
        reasonMax: REASON_LENGTH.max,
        csrfToken: reply.generateCsrf(),
      },
      { title: TEXT[action].title, status },
    );

  for (const action of ['stop-all', 'resume-all'] as const) {
    const url = `/system/ops/runs/${action}`;
    app.get(
      url,
      { schema: { querystring: NO_QUERY }, config: { capability: CAPABILITIES.runsManage } },
      async (_request, reply) => {
        // Offered only where it applies: a second stop, or a resume with nothing stopped, says why.
        const stop = await currentStop(pool);
        if (action === 'stop-all' && stop)
          throw new HttpError(409, `Every run is already stopped (by ${stop.stoppedBy}).`);
        if (action === 'resume-all' && !stop) throw new HttpError(409, 'No stop holds: every run goes on as it was.');
        return render(reply, action, { reason: '', confirmation: '' }, null, 200);
      },
    );
    app.post<{ Body: SwitchBody }>(
      url,
      { schema: { querystring: NO_QUERY, body: switchBody }, config: { capability: CAPABILITIES.runsManage } },
      async (request, reply) => {
        const fields = { reason: request.body?.reason ?? '', confirmation: request.body?.confirmation ?? '' };
        const { initiator, context } = initiatorOf(request);
        const asked = { initiator, context, source: 'system_ui' as const, reason: fields.reason };
        try {
          if (action === 'stop-all') await stopAllRuns(deps, { ...asked, confirmation: fields.confirmation });
          else await resumeAllRuns(deps, asked);
        } catch (error) {
          if (!(error instanceof RunbookRefusal)) throw error;
          return render(reply, action, fields, error.message, 422);
        }
        return reply.seeOther('/system/ops/runs');
      },
    );
  }
};
