import type { Writable } from 'node:stream';
import type { FastifyRequest, FastifyServerOptions } from 'fastify';
import { ConfigError } from '../config.js';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface RequestLogOptions {
  /** `LOG_LEVEL`: the lowest level logged, wherever the log goes. */
  level?: string;
  /**
   * `LOG_FILE`: the log goes to this file (its folder is created), and only warnings and errors
   * to the terminal (stderr), unless `level` says otherwise: `npm start` sets it, so that a
   * request every second from a run page does not bury the terminal.
   */
  file?: string;
  /** Where the log goes instead of stdout, in tests. */
  stream?: Writable;
}

/**
 * The console's log. A request is recorded by its method and path, without the query string,
 * which may carry what a visitor typed (a tenant search) or a `next` to return to.
 */
export function requestLog({ level, file, stream }: RequestLogOptions = {}): NonNullable<
  FastifyServerOptions['logger']
> {
  if (level !== undefined && !LEVELS.includes(level)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LEVELS.join(', ')}, got "${level}"`);
  }
  const serializers = {
    req: (request: FastifyRequest) => ({
      method: request.method,
      url: request.url.split('?', 1)[0],
      remoteAddress: request.ip,
    }),
  };
  const lowest = level ?? 'info';
  if (file === undefined) return { level: lowest, ...(stream ? { stream } : {}), serializers };
  // pino's own file destination, in its transport's thread: both targets are written off the event loop.
  return {
    level: lowest,
    serializers,
    transport: {
      targets: [
        { target: 'pino/file', level: lowest, options: { destination: file, mkdir: true } },
        { target: 'pino/file', level: level ?? 'warn', options: { destination: 2 } },
      ],
    },
  };
}
