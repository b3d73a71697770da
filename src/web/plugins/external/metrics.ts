import client from '@prometheus-io/client';
import fastifyMetricsModule from 'fastify-metrics';
import fp from 'fastify-plugin';
import { createRegistry } from '../../../metrics/registry.js';
import { registerRunbookMetrics } from '../../../metrics/runbookMetrics.js';
import { serveMetrics, type MetricsServer } from '../../../metrics/serveMetrics.js';

// A CommonJS module whose plugin is its `default` export.
const fastifyMetrics = fastifyMetricsModule.default;

/** From 5 ms to 10 s: the console answers most pages in milliseconds. */
const REQUEST_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The console's metrics, only when `CONSOLE_METRICS_PORT` is set (otherwise nothing at all): its HTTP
 * requests by method, route pattern and status (fastify-metrics), the runbook metrics and the
 * process's, served on a listener of their own (METRICS_HOST, loopback by default), never on the
 * console's port, where they would need a session. A route is labelled by its pattern
 * (`/system/ops/runs/:id`), never its URL, and every URL no route has by `__unknown__`, so
 * neither an id nor a scanner's guesses make new series.
 */
export default fp(
  async (app) => {
    const { host, consolePort } = app.deps.config.metrics;
    if (consolePort === null) return;
    const registry = createRegistry();
    registerRunbookMetrics(registry, app.deps.database.pool);
    await app.register(fastifyMetrics, {
      promClient: client,
      endpoint: null,
      defaultMetrics: { enabled: false },
      routeMetrics: {
        enabled: { histogram: true, summary: false },
        registeredRoutesOnly: false,
        invalidRouteGroup: '__unknown__',
        overrides: {
          histogram: { registers: [registry], buckets: REQUEST_SECONDS },
          // fastify-metrics makes its summary even when it is off: kept out of every registry.
          summary: { registers: [] },
        },
      },
    });
    let server: MetricsServer | undefined;
    app.addHook('onReady', async () => {
      server = await serveMetrics(registry, { host, port: consolePort, setting: 'CONSOLE_METRICS_PORT' });
      app.log.info(`metrics at ${server.url}`);
    });
    app.addHook('onClose', async () => server?.close());
  },
  { name: 'metrics' },
);
