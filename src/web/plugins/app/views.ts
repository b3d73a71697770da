import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { CAPABILITIES } from '../../../runbooks/capabilities.js';
import { ASSETS } from '../external/static.js';

const VIEWS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../views');

/** What the layout shows around every page. */
interface LayoutModel {
  title: string;
  body: string;
  assets: typeof ASSETS;
  operator: { email: string } | null;
  /** For the sign-out form; only a signed-in operator has one. */
  csrfToken: string | null;
  nav: Array<{ href: string; label: string }>;
}

/** The signed-in chrome of the layout; a signed-out page has none. */
type Chrome = Pick<LayoutModel, 'operator' | 'csrfToken' | 'nav'>;
const SIGNED_OUT: Chrome = { operator: null, csrfToken: null, nav: [] };

declare module 'fastify' {
  interface FastifyInstance {
    /** A whole document: the view inside the layout (signed-out chrome unless given). */
    renderDocument(view: string, model: object, title: string, chrome?: Chrome): string;
  }
  interface FastifyReply {
    /** Renders a page (a view inside the layout) as the reply, with `status` (default 200). */
    page(view: string, model: object, options: { title: string; status?: number }): FastifyReply;
    /**
     * An htmx request gets only the partial (what it swaps in); any other the whole page that
     * contains it, so the same POST works without JavaScript.
     */
    pageOrPartial(
      partial: { view: string; model: object },
      page: () => { view: string; model: object },
      options: { title: string; status?: number },
    ): FastifyReply;
    /** Redirect after POST: a 303, or for htmx an `HX-Redirect` (a followed 303 would be swapped in). */
    seeOther(url: string): FastifyReply;
  }
}

/** The one place that tells an htmx request from a browser's own. */
function isHtmx(request: FastifyRequest): boolean {
  return request.headers['hx-request'] === 'true';
}

/** Eta views, escaped by default (`<%= %>`); raw output (`<%~ %>`) is only for trusted partials. */
export default fp(
  async (app) => {
    const eta = new Eta({ views: VIEWS_DIR, cache: true, autoEscape: true });
    app.decorate('renderDocument', (view: string, model: object, title: string, chrome: Chrome = SIGNED_OUT) =>
      eta.render('layout', { title, body: eta.render(view, model), assets: ASSETS, ...chrome } satisfies LayoutModel),
    );
    app.decorateReply('page', function page(this: FastifyReply, view: string, model: object, options: { title: string; status?: number }) {
      // An error page may be rendered for a request that failed before the sessions hook ran.
      const operator = this.request.session?.operator ?? null;
      const nav = [
        { href: '/system/ops/runbooks', label: 'Runbooks', capability: CAPABILITIES.runbooksView },
        { href: '/system/ops/runs', label: 'Runs', capability: CAPABILITIES.runsView },
      ].filter((item) => this.request.can(item.capability));
      const chrome: Chrome = operator ? { operator: { email: operator.email }, csrfToken: this.generateCsrf(), nav } : SIGNED_OUT;
      return this.code(options.status ?? 200)
        .type('text/html; charset=utf-8')
        .send(app.renderDocument(view, model, options.title, chrome));
    });
    app.decorateReply(
      'pageOrPartial',
      function pageOrPartial(
        this: FastifyReply,
        partial: { view: string; model: object },
        page: () => { view: string; model: object },
        options: { title: string; status?: number },
      ) {
        if (!isHtmx(this.request)) {
          const whole = page();
          return this.page(whole.view, whole.model, options);
        }
        return this.code(options.status ?? 200)
          .type('text/html; charset=utf-8')
          .header('vary', 'HX-Request')
          .send(eta.render(partial.view, partial.model));
      },
    );
    app.decorateReply('seeOther', function seeOther(this: FastifyReply, url: string) {
      if (isHtmx(this.request)) return this.code(200).header('hx-redirect', url).send('');
      return this.redirect(url, 303);
    });
  },
  { name: 'views', dependencies: ['sessions', 'capabilities', 'csrf'] },
);
