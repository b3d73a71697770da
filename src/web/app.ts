import { STATUS_CODES } from 'node:http';
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import authPlugin from './plugins/app/auth.js';
import changeFeedPlugin from './plugins/app/changeFeed.js';
import capabilitiesPlugin from './plugins/app/capabilities.js';
import errorsPlugin from './plugins/app/errors.js';
import sessionsPlugin from './plugins/app/sessions.js';
import viewsPlugin from './plugins/app/views.js';
import cookiesPlugin from './plugins/external/cookies.js';
import csrfPlugin from './plugins/external/csrf.js';
import formBodyPlugin from './plugins/external/formBody.js';
import helmetPlugin from './plugins/external/helmet.js';
import metricsPlugin from './plugins/external/metrics.js';
import rateLimitPlugin from './plugins/external/rateLimit.js';
import staticPlugin from './plugins/external/static.js';
import { adminRoutes } from './routes/admin/index.js';
import { healthzRoutes } from './routes/healthz.js';
import { changesRoutes } from './routes/system/changes/index.js';
import { homeRoutes } from './routes/system/home/index.js';
import { loginRoutes } from './routes/system/login/index.js';
import { notificationsRoutes } from './routes/system/notifications/index.js';
import { runbooksRoutes } from './routes/system/runbooks/index.js';
import { runsRoutes } from './routes/system/runs/index.js';
import { stopAllRoutes } from './routes/system/runs/stopAll.js';
import { tenantsRoutes } from './routes/system/tenants/index.js';
import { windowsRoutes } from './routes/system/windows/index.js';
import type { RunLauncher } from '../runbooks/launcher.js';
import { temporalLauncher } from '../temporal/launcher.js';

/** A whole HTTP/1.1 answer for what the parser refused: 431 for oversized headers, 408 for a slow client, else 400. */
function rawErrorResponse(app: FastifyInstance, error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const page = app.routerErrorPage(Object.assign(new Error(STATUS_CODES[status]), { statusCode: status }), '/');
  const headers = {
    ...app.securityHeaders,
    'content-type': 'text/html; charset=utf-8',
    'content-length': String(Buffer.byteLength(page.html)),
    connection: 'close',
  };
  return [
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    '',
    page.html,
  ].join('\r\n');
}

export interface AppDeps {
  config: Config;
  database: Database;
  temporal: Client;
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: AppDeps;
    /** How the starter and the run controls reach the runs' workflows. */
    launcher: RunLauncher;
  }
}

/**
 * Builds the console app; `server.ts` owns listening and shutdown, tests use `inject()`.
 * Layers in order: external wrappers, then the app's own plugins (sessions before anything
 * that reads one; auth before the routes, whose registration it hooks), then the routes.
 */
export async function buildApp(deps: AppDeps, options: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    // A field no schema names is refused (400 naming it), not silently dropped: a forged form
    // (a `tenant` on the customer's trigger, say) never looks as if it worked.
    ajv: { customOptions: { removeAdditional: false } },
    // A URL the router cannot even decode (`%ZZ`, an over-long id) gets the console's error page too.
    frameworkErrors: (error, request, reply) => {
      const page = app.routerErrorPage(error, request.url);
      void (reply as FastifyReply)
        .code(page.status)
        .headers(app.securityHeaders)
        .type('text/html; charset=utf-8')
        .send(page.html);
    },
    // So does a request the HTTP parser refuses (headers over 16 KB), written on the socket itself.
    clientErrorHandler: (error, socket) => {
      if ((error as NodeJS.ErrnoException).code === 'ECONNRESET' || socket.destroyed) return;
      socket.end(rawErrorResponse(app, error));
    },
    ...options,
  });
  app.decorate('deps', deps);
  app.decorate(
    'launcher',
    temporalLauncher(deps.config, () => Promise.resolve(deps.temporal)),
  );

  // First, so that a request's time includes every hook after it.
  await app.register(metricsPlugin);
  await app.register(helmetPlugin, { secure: deps.config.cookieSecure });
  await app.register(cookiesPlugin);
  await app.register(formBodyPlugin);
  await app.register(rateLimitPlugin);
  await app.register(staticPlugin);

  await app.register(changeFeedPlugin);
  await app.register(sessionsPlugin, { secureCookies: deps.config.cookieSecure });
  await app.register(csrfPlugin);
  await app.register(capabilitiesPlugin);
  await app.register(authPlugin);
  await app.register(viewsPlugin);
  await app.register(errorsPlugin);

  await app.register(healthzRoutes);
  await app.register(homeRoutes);
  await app.register(loginRoutes);
  await app.register(runbooksRoutes);
  await app.register(runsRoutes);
  await app.register(stopAllRoutes);
  await app.register(changesRoutes);
  await app.register(windowsRoutes);
  await app.register(tenantsRoutes);
  await app.register(adminRoutes);
  await app.register(notificationsRoutes);
  return app;
}
