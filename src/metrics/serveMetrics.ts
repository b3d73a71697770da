import { createServer } from 'node:http';
import type { Registry } from '@prometheus-io/client';
import { ConfigError } from '../config.js';

export interface MetricsServer {
  /** Where Prometheus scrapes, `http://host:port/metrics`. */
  url: string;
  close(): Promise<void>;
}

/**
 * A listener of its own for a registry: `GET /metrics` and nothing else (404), so that metrics
 * never share the console's port, its sessions or its pages. A port that cannot be had is a
 * ConfigError naming `setting`, the variable that chose it.
 */
export function serveMetrics(
  registry: Registry,
  options: { host: string; port: number; setting: string },
): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response
        .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
        .end('Not found: metrics are at /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      () => response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics unavailable\n'),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new ConfigError(
          `${options.setting}: cannot listen on ${options.host}:${options.port} (${error.code ?? error.message}); choose another port`,
        ),
      ),
    );
    server.listen(options.port, options.host, () => {
      const host = options.host.includes(':') ? `[${options.host}]` : options.host;
      resolve({
        url: `http://${host}:${options.port}/metrics`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
