import type { Client } from '@temporalio/client';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import { healthzRoutes } from './routes/healthz.js';

export interface AppDeps {
  config: Config;
  database: Database;
  temporal: Client;
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: AppDeps;
  }
}

/** Builds the console app; `server.ts` owns listening and shutdown, tests use `inject()`. */
export async function buildApp(deps: AppDeps, options: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(options);
  app.decorate('deps', deps);
  await app.register(healthzRoutes);
  return app;
}
