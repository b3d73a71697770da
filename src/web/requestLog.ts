import type { Writable } from 'node:stream';
import type { FastifyRequest, FastifyServerOptions } from 'fastify';

/**
 * The console's request log: a request by its method and path, without the query string, which
 * may carry what a visitor typed (a tenant search) or a `next` to return to.
 */
export function requestLog(level: string, stream?: Writable): NonNullable<FastifyServerOptions['logger']> {
  return {
    level,
    ...(stream ? { stream } : {}),
    serializers: {
      req: (request: FastifyRequest) => ({
        method: request.method,
        url: request.url.split('?', 1)[0],
        remoteAddress: request.ip,
      }),
    },
  };
}
