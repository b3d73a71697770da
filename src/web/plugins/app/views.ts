import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ReadCache } from '../../../db/readCache.js';
import { countOpenChangeRequests } from '../../../runbooks/approvals/changeRequests.js';
import { CAPABILITIES } from '../../../runbooks/capabilities.js';
import { countUnread } from '../../../runbooks/notifications.js';
import type { Plane } from '../../../auth/sessions.js';
import { logoutPathOf, operatorHome, operatorNav, PLANE_HOMES, planeOf } from '../../planes.js';
import { ASSETS } from '../external/static.js';
import { Views } from './templates.js';

const VIEWS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../views');

/** What the layout shows around every page. */
interface LayoutModel {
  title: string;
  body: string;
  assets: typeof ASSETS;
  /** The plane's name in the header and the title, and where its name links. */
  brand: string;
  home: string;
  /** Who is signed in, with where their sign-out form posts; null when signed out. */
  account: { email: string; logoutAction: string } | null;
  /** For the sign-out form and htmx requests; only a signed-in visitor has one. */
  csrfToken: string | null;
  /** The header's pages; `count` (open change requests, say) shows beside the label when not null. */
  nav: Array<{ href: string; label: string; count: number | null }>;
  /** The Notifications link, for a signed-in operator; `unread` is null when it could not be counted. */
  notifications: { unread: number | null } | null;
  /** Reload the page this often without JavaScript (a live page htmx would otherwise update); null: never. */
  refreshSeconds: number | null;
}

/** How a page is rendered: its title, status and, for a live page, how often a browser without JavaScript reloads it. */
interface PageOptions {
  title: string;
  status?: number;
  refreshSeconds?: number;
}

/** The signed-in chrome of the layout; a signed-out page has none. */
type Chrome = Pick<LayoutModel, 'brand' | 'home' | 'account' | 'csrfToken' | 'nav' | 'notifications'>;

/** Customers never see the operators' product name. */
const BRANDS: Record<Plane, string> = { system: 'Platform Ops', admin: 'Your account' };

/** The chrome of a page nobody is signed in to, on the plane of its URL (the operators' outside both). */
export function signedOutChrome(url: string): Chrome {
  const plane = planeOf(url) ?? 'system';
  return {
    brand: BRANDS[plane],
    home: PLANE_HOMES[plane],
    account: null,
    csrfToken: null,
    nav: [],
    notifications: null,
  };
}

/**
 * Where "back to the start" leads whoever made the request: a signed-in operator to the first
 * page they may open, anyone else to the home of the URL's plane.
 */
export function startPageOf(request: FastifyRequest): string {
  // An error page may be rendered for a request that failed before the sessions hook ran.
  const operator = request.session?.operator;
  return operator ? operatorHome(operator.capabilities) : PLANE_HOMES[planeOf(request.url) ?? 'system'];
}

declare module 'fastify' {
  interface FastifyInstance {
    /** A whole document: the view inside the layout (signed-out chrome unless given). */
    renderDocument(view: string, model: object, options: PageOptions, chrome?: Chrome): string;
    /** A view alone, without the layout: a page's body to keep, for `reply.renderedPage`. */
    renderView(view: string, model: object): string;
  }
  interface FastifyRequest {
    /** The signed-in operator's unread notifications for the header, read before the route runs; null when not counted. */
    unreadNotifications: number | null;
    /** The change requests waiting for approval, for the header of an operator who may approve; null when not counted. */
    openChangeRequests: number | null;
  }
  interface FastifyReply {
    /** Renders a page (a view inside the layout) as the reply, with `status` (default 200). */
    page(view: string, model: object, options: PageOptions): FastifyReply;
    /** The same for a body rendered already (`app.renderView`): the layout around it is the request's own. */
    renderedPage(body: string, options: PageOptions): FastifyReply;
    /**
     * An htmx request gets only the partial (what it swaps in); any other the whole page that
     * contains it, so the same POST works without JavaScript.
     */
    pageOrPartial(
      partial: { view: string; model: object },
      page: () => { view: string; model: object },
      options: PageOptions,
    ): FastifyReply;
    /** Redirect after POST: a 303, or for htmx an `HX-Redirect` (a followed 303 would be swapped in). */
    seeOther(url: string): FastifyReply;
  }
}

/** The one place that tells an htmx request from a browser's own. */
export function isHtmx(request: FastifyRequest): boolean {
  return request.headers['hx-request'] === 'true';
}

export default fp(
  async (app) => {
    const views = new Views(VIEWS_DIR);

    // \`reply.page\` is synchronous, so the header's count is read up front, and only where a
    // whole page can follow: htmx swaps partials, which have no header. A count that fails
    // (the database went away after the session was read) leaves it out and never fails the page.
    // The open change requests are counted on every page of an approver, uncached: the change
    // feed does not carry change_requests, and a request leaves the count by its deadline alone,
    // which no write announces. The count is one prepared statement on a small table.
    app.decorateRequest('unreadNotifications', null);
    app.decorateRequest('openChangeRequests', null);
    const unread = new ReadCache<number>({ feed: app.changeFeed, dependsOn: { notifications: 'key' } });
    app.addHook('onRequest', async (request) => {
      const operator = request.session.operator;
      if (!operator || isHtmx(request)) return;
      const { pool } = app.deps.database;
      const counted = (what: string, count: () => Promise<number | null>) =>
        count().catch((error: unknown) => {
          request.log.warn({ err: error }, `${what} not counted`);
          return null;
        });
      [request.unreadNotifications, request.openChangeRequests] = await Promise.all([
        counted('unread notifications', () => unread.read(String(operator.id), () => countUnread(pool, operator.id))),
        operator.capabilities.includes(CAPABILITIES.runsApprove)
          ? counted('open change requests', () => countOpenChangeRequests(pool))
          : null,
      ]);
    });

    const documentOf = (body: string, options: PageOptions, chrome: Chrome) =>
      views.view('layout', {
        title: options.title,
        refreshSeconds: options.refreshSeconds ?? null,
        body,
        assets: ASSETS,
        ...chrome,
      } satisfies LayoutModel);
    app.decorate('renderDocument', (view: string, model: object, options: PageOptions, chrome: Chrome) =>
      documentOf(views.view(view, model), options, chrome),
    );
    app.decorate('renderView', (view: string, model: object) => views.view(view, model));
    app.decorateReply('page', function page(this: FastifyReply, view: string, model: object, options: PageOptions) {
      return this.renderedPage(views.view(view, model), options);
    });
    app.decorateReply('renderedPage', function renderedPage(this: FastifyReply, body: string, options: PageOptions) {
      // An error page may be rendered for a request that failed before the sessions hook ran.
      const { operator = null, customer = null } = this.request.session ?? {};
      const signedOut = signedOutChrome(this.request.url);
      let chrome = signedOut;
      if (operator) {
        chrome = {
          ...signedOut,
          home: startPageOf(this.request),
          account: { email: operator.email, logoutAction: logoutPathOf('system') },
          csrfToken: this.generateCsrf(),
          nav: operatorNav(operator.capabilities, { openChanges: this.request.openChangeRequests }),
          notifications: { unread: this.request.unreadNotifications },
        };
      } else if (customer) {
        chrome = {
          ...signedOut,
          account: { email: customer.email, logoutAction: logoutPathOf('admin') },
          csrfToken: this.generateCsrf(),
          nav: [{ href: PLANE_HOMES.admin, label: 'Findings', count: null }],
        };
      }
      return this.code(options.status ?? 200)
        .type('text/html; charset=utf-8')
        .send(documentOf(body, options, chrome));
    });
    app.decorateReply(
      'pageOrPartial',
      function pageOrPartial(
        this: FastifyReply,
        partial: { view: string; model: object },
        page: () => { view: string; model: object },
        options: PageOptions,
      ) {
        if (!isHtmx(this.request)) {
          const whole = page();
          return this.page(whole.view, whole.model, options);
        }
        return this.code(options.status ?? 200)
          .type('text/html; charset=utf-8')
          .header('vary', 'HX-Request')
          .send(views.view(partial.view, partial.model));
      },
    );
    app.decorateReply('seeOther', function seeOther(this: FastifyReply, url: string) {
      if (isHtmx(this.request)) return this.code(200).header('hx-redirect', url).send('');
      return this.redirect(url, 303);
    });
  },
  { name: 'views', dependencies: ['change-feed', 'sessions', 'capabilities', 'csrf'] },
);
