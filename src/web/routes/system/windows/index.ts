import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { CAPABILITIES } from '../../../../runbooks/capabilities.js';
import { parseDuration } from '../../../../runbooks/durationText.js';
import { RunbookRefusal } from '../../../../runbooks/refusal.js';
import {
  createChangeWindow,
  deleteChangeWindow,
  listChangeWindows,
  type ChangeWindowRecord,
} from '../../../../runbooks/windows/changeWindows.js';
import { ForbiddenError, NotFoundError } from '../../../httpErrors.js';
import { initiatorOf } from '../../../plugins/app/auth.js';
import { CSRF_FIELD, CSRF_ONLY_BODY, NO_QUERY, PLAIN_TEXT } from '../../../schemas.js';
import { windowNotice, WINDOWS_PAGE } from './notice.js';
import {
  deleteView,
  emptyWindowFields,
  windowsPageView,
  WINDOWS_HREF,
  type WindowFields,
  type WindowProblem,
} from './views.js';

// A window's id is a whole number: anything else names no page (a 404).
const windowParams = {
  type: 'object',
  required: ['window'],
  properties: { window: { type: 'string', pattern: '^[0-9]{1,15}$' } },
} as const;

/**
 * Form fields are optional and bounded only: a missing or wrong one reaches the engine, which
 * refuses it in words beside the form (the description a little too long gets its message too).
 */
const createBody = {
  type: 'object',
  properties: {
    ...CSRF_FIELD,
    kind: { type: 'string', maxLength: 20 },
    schedule: { type: 'string', maxLength: 200, pattern: PLAIN_TEXT },
    duration: { type: 'string', maxLength: 40 },
    timeZone: { type: 'string', maxLength: 100, pattern: PLAIN_TEXT },
    cutoff: { type: 'string', maxLength: 40 },
    // A ticked box, or several.
    runbooks: {
      anyOf: [
        { type: 'string', maxLength: 200 },
        { type: 'array', maxItems: 100, items: { type: 'string', maxLength: 200 } },
      ],
    },
    description: { type: 'string', maxLength: 4000 },
  },
  additionalProperties: false,
} as const;

type CreateBody = Partial<Omit<WindowFields, 'runbooks'>> & { runbooks?: string | string[] };

/** The fields as typed, for the engine and to keep in the form. */
function fieldsOf(body: CreateBody): WindowFields {
  const runbooks = body.runbooks === undefined ? [] : [body.runbooks].flat();
  return {
    kind: body.kind ?? '',
    schedule: body.schedule ?? '',
    duration: body.duration ?? '',
    timeZone: body.timeZone ?? '',
    cutoff: body.cutoff ?? '',
    runbooks: runbooks.map((id) => id.trim()).filter(Boolean),
    description: body.description ?? '',
  };
}

/** A refusal of one field, which the form marks. */
class FieldRefusal extends RunbookRefusal {
  constructor(
    readonly field: keyof WindowFields,
    message: string,
  ) {
    super('invalid_window', message);
  }
}

/**
 * Whole minutes as the form takes them (as the CLI's `--duration`): a bare number of minutes, or
 * with a unit (90m, 4h, 1d). `parseDuration` reads a bare number as seconds, so it gets its unit first.
 */
function minutesOf(text: string, field: 'duration' | 'cutoff'): number {
  const trimmed = text.trim();
  const label = field === 'duration' ? 'The duration' : 'The cutoff';
  if (trimmed === '')
    throw new FieldRefusal(field, `${label} is missing: write a number of minutes (90), or 90m, 4h, 1d.`);
  const ms = parseDuration(/^\d+(\.\d+)?$/.test(trimmed) ? `${trimmed}m` : trimmed);
  if (typeof ms === 'string' || ms < 0 || ms % 60_000 !== 0)
    throw new FieldRefusal(
      field,
      `${label} "${trimmed}" is not whole minutes: write a number of minutes (90), or 90m, 4h, 1d.`,
    );
  return ms / 60_000;
}

/**
 * The change windows page, `GET /system/ops/windows`: every window with its openings in the
 * coming week and what they mean now; for those who may manage them, the form that defines one
 * (`POST`, through the engine's `createChangeWindow`) and each window's delete, behind its
 * confirmation page.
 */
export const windowsRoutes: FastifyPluginAsync = async (app) => {
  const { pool } = app.deps.database;
  const minuteMs = app.deps.config.windowMinuteMs;
  const secure = app.deps.config.cookieSecure;

  const windowOr404 = async (id: string): Promise<ChangeWindowRecord> => {
    const found = (await listChangeWindows(pool)).find((window) => window.id === Number(id));
    if (!found) throw new NotFoundError();
    return found;
  };

  const renderPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    form: { fields: WindowFields; problem: WindowProblem | null },
    status: number,
  ) => {
    const model = windowsPageView({
      windows: await listChangeWindows(pool),
      now: new Date(),
      minuteMs,
      canManage: request.can(CAPABILITIES.windowsManage),
      csrfToken: reply.generateCsrf(),
      ...form,
      notice: status === 200 ? windowNotice.take(request, reply, WINDOWS_PAGE) : null,
    });
    return reply.page('system/windows', model, { title: 'Change windows', status });
  };

  app.get(
    WINDOWS_HREF,
    { schema: { querystring: NO_QUERY }, config: { capability: CAPABILITIES.runsView } },
    async (request, reply) => renderPage(request, reply, { fields: emptyWindowFields(), problem: null }, 200),
  );

  app.post<{ Body: CreateBody }>(
    WINDOWS_HREF,
    { schema: { querystring: NO_QUERY, body: createBody }, config: { capability: CAPABILITIES.windowsManage } },
    async (request, reply) => {
      const fields = fieldsOf(request.body ?? {});
      const { initiator, context } = initiatorOf(request);
      try {
        await createChangeWindow(pool, {
          initiator,
          context,
          window: {
            kind: fields.kind,
            schedule: fields.schedule,
            durationMinutes: minutesOf(fields.duration, 'duration'),
            // An empty time zone is the form's default.
            timeZone: fields.timeZone.trim() || 'UTC',
            cutoffMinutes: fields.cutoff.trim() === '' ? undefined : minutesOf(fields.cutoff, 'cutoff'),
            runbooks: fields.runbooks,
            description: fields.description,
          },
          minuteMs,
        });
      } catch (error) {
        if (!(error instanceof RunbookRefusal)) throw error;
        if (error.code === 'capability') throw new ForbiddenError(error.message);
        const field =
          error instanceof FieldRefusal ? error.field : error.code === 'unknown_runbook' ? 'runbooks' : null;
        return renderPage(request, reply, { fields, problem: { message: error.message, field } }, 422);
      }
      windowNotice.send(reply, WINDOWS_PAGE, 'created', secure);
      return reply.seeOther(WINDOWS_HREF);
    },
  );

  const deleteUrl = `${WINDOWS_HREF}/:window/delete`;

  app.get<{ Params: { window: string } }>(
    deleteUrl,
    {
      schema: { params: windowParams, querystring: NO_QUERY },
      config: { capability: CAPABILITIES.windowsManage },
    },
    async (request, reply) => {
      const window = await windowOr404(request.params.window);
      const model = deleteView(window, { csrfToken: reply.generateCsrf(), now: new Date(), minuteMs });
      return reply.page('system/windowDelete', model, { title: 'Delete the change window' });
    },
  );

  app.post<{ Params: { window: string } }>(
    deleteUrl,
    {
      schema: { params: windowParams, querystring: NO_QUERY, body: CSRF_ONLY_BODY },
      config: { capability: CAPABILITIES.windowsManage },
    },
    async (request, reply) => {
      const { initiator, context } = initiatorOf(request);
      try {
        await deleteChangeWindow(pool, { initiator, context, id: Number(request.params.window) });
      } catch (error) {
        if (!(error instanceof RunbookRefusal)) throw error;
        if (error.code === 'window_not_found') throw new NotFoundError();
        if (error.code === 'capability') throw new ForbiddenError(error.message);
        throw error;
      }
      windowNotice.send(reply, WINDOWS_PAGE, 'deleted', secure);
      return reply.seeOther(WINDOWS_HREF);
    },
  );
};
