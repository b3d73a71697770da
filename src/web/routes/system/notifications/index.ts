import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { CAPABILITIES } from '../../../../runbooks/capabilities.js';
import { countUnread, listNotifications, markRead, openNotification } from '../../../../runbooks/notifications.js';
import { NotFoundError } from '../../../httpErrors.js';
import { SIGNED_IN } from '../../../plugins/app/auth.js';
import { isHtmx } from '../../../plugins/app/views.js';
import { notificationListView } from './views.js';
import { CSRF_ONLY_BODY, NO_QUERY } from '../../../schemas.js';

const PAGE_SIZE = 50;

/** A notification id (a bigint identity), no longer than a JavaScript number holds exactly. */
const NOTIFICATION_ID = /^[1-9][0-9]{0,14}$/;

// `before`: the last id of the previous page.
const pageQuery = {
  type: 'object',
  properties: { before: { type: 'string', pattern: NOTIFICATION_ID.source } },
  additionalProperties: false,
} as const;
// Any id's shape: one that cannot be a notification is a 404 after the access rules, like another operator's.
const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', maxLength: 100 } },
  additionalProperties: false,
} as const;

interface PageQuery {
  before?: string;
}

const beforeOf = (query: PageQuery) => (query.before === undefined ? undefined : Number(query.before));

/** Every route here is SIGNED_IN: the access rule has admitted an operator before the handler runs. */
function operatorIdOf(request: FastifyRequest): number {
  const { operator } = request.session;
  if (!operator)
    throw new Error(`${request.method} ${request.url} has no signed-in operator; is its access rule SIGNED_IN?`);
  return operator.id;
}

/**
 * `GET /system/notifications` (the signed-in operator's own, newest first, a page at a time),
 * `GET .../:id/open` (what a notification links to: marks it read and goes on to its run or
 * change request),
 * `POST .../:id/read` and `POST .../read-all` (plain forms redirect back; htmx gets the list
 * partial and an `HX-Trigger` that refreshes the header's count), and `GET .../count`, the
 * header's count that the layout polls. Another operator's notification is a 404, like an unknown one.
 */
export const notificationsRoutes: FastifyPluginAsync = async (app) => {
  const { pool } = app.deps.database;

  /** The list at `before`; `unread` when already counted (the header's count), else counted here. */
  const list = async (
    request: FastifyRequest,
    reply: FastifyReply,
    before: number | undefined,
    unread: number | null,
  ) => {
    const me = operatorIdOf(request);
    const [rows, counted] = await Promise.all([
      listNotifications(pool, me, { before, limit: PAGE_SIZE + 1 }),
      unread ?? countUnread(pool, me),
    ]);
    return notificationListView({
      entries: rows.slice(0, PAGE_SIZE),
      hasOlder: rows.length > PAGE_SIZE,
      before,
      unread: counted,
      csrfToken: reply.generateCsrf(),
      canViewRuns: request.can(CAPABILITIES.runsView),
    });
  };

  const render = (reply: FastifyReply, model: Awaited<ReturnType<typeof list>>) =>
    reply.pageOrPartial(
      { view: 'partials/notifications/list', model },
      () => ({ view: 'system/notifications', model }),
      {
        title: 'Notifications',
      },
    );

  /** After marking read: a plain form goes back to the page it came from; htmx swaps the list in place. */
  const afterRead = async (request: FastifyRequest<{ Querystring: PageQuery }>, reply: FastifyReply) => {
    const before = beforeOf(request.query);
    if (!isHtmx(request))
      return reply.seeOther(`/system/notifications${before === undefined ? '' : `?before=${before}`}`);
    reply.header('hx-trigger', 'notificationsRead');
    return render(reply, await list(request, reply, before, null));
  };

  app.get<{ Querystring: PageQuery }>(
    '/system/notifications',
    { schema: { querystring: pageQuery }, config: { capability: SIGNED_IN } },
    async (request, reply) => {
      return render(reply, await list(request, reply, beforeOf(request.query), request.unreadNotifications));
    },
  );

  // Opening a notification reads it, as opening an email does, so its link is a GET that marks it
  // read on the way to its run: it stays a link (a new tab, a copied address, no JavaScript), and
  // the write needs no CSRF token because nothing a forged request can do with it matters: it only
  // ever sets the operator's own notification's first read time, once (again changes nothing),
  // and the SameSite=Strict cookie is not sent on another site's link anyway. HEAD gets no route:
  // a link checker's probe must not read a notification.
  app.get<{ Params: { id: string } }>(
    '/system/notifications/:id/open',
    {
      schema: { params: idParams, querystring: NO_QUERY },
      exposeHeadRoute: false,
      config: { capability: SIGNED_IN },
    },
    async (request, reply) => {
      if (!NOTIFICATION_ID.test(request.params.id)) throw new NotFoundError();
      const opened = await openNotification(pool, operatorIdOf(request), Number(request.params.id));
      if (!opened) throw new NotFoundError();
      // A change request's notice leads to the request (even once it became a run: the request
      // page links it). A page the operator may not view would be a 403: the list, where the
      // notice now shows read, instead.
      const target = opened.changeRequestId
        ? `/system/ops/changes/${opened.changeRequestId}`
        : opened.runId && `/system/ops/runs/${opened.runId}`;
      const page = target && request.can(CAPABILITIES.runsView) ? target : null;
      return reply.redirect(page ?? '/system/notifications', 303);
    },
  );

  app.get(
    '/system/notifications/count',
    { schema: { querystring: NO_QUERY }, config: { capability: SIGNED_IN, background: true } },
    async (request, reply) => {
      // A browser's own request was counted for its header already; htmx's (the poll) was not.
      const unread = request.unreadNotifications ?? (await countUnread(pool, operatorIdOf(request)));
      const model = { unread };
      return reply.pageOrPartial(
        { view: 'partials/notifications/nav', model },
        () => ({ view: 'system/notifications-count', model }),
        {
          title: 'Notifications',
        },
      );
    },
  );

  app.post<{ Params: { id: string }; Querystring: PageQuery }>(
    '/system/notifications/:id/read',
    { schema: { params: idParams, querystring: pageQuery, body: CSRF_ONLY_BODY }, config: { capability: SIGNED_IN } },
    async (request, reply) => {
      if (!NOTIFICATION_ID.test(request.params.id)) throw new NotFoundError();
      const matched = await markRead(pool, operatorIdOf(request), [Number(request.params.id)]);
      if (matched.length === 0) throw new NotFoundError();
      return afterRead(request, reply);
    },
  );

  app.post<{ Querystring: PageQuery }>(
    '/system/notifications/read-all',
    { schema: { querystring: pageQuery, body: CSRF_ONLY_BODY }, config: { capability: SIGNED_IN } },
    async (request, reply) => {
      await markRead(pool, operatorIdOf(request), 'all');
      return afterRead(request, reply);
    },
  );
};
