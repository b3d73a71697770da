import { loadConfig } from '../config.js';
import { openDatabase } from '../db/client.js';
import { lazyTemporalClient } from '../temporal/connection.js';
import { runEntryPoint } from '../entryPoint.js';
import { buildApp } from './app.js';
import { requestLog } from './requestLog.js';
import { trustProxyFromEnv } from './trustProxy.js';

async function run(): Promise<void> {
  const config = loadConfig();
  const database = openDatabase(config.databaseUrl, { connectTimeoutMs: config.databaseConnectTimeoutMs });
  const temporal = lazyTemporalClient(config.temporal);
  const app = await buildApp(
    { config, database, temporal },
    {
      logger: requestLog({ level: process.env.LOG_LEVEL || undefined, file: process.env.LOG_FILE || undefined }),
      trustProxy: trustProxyFromEnv(process.env.TRUST_PROXY),
    },
  );
  app.addHook('onClose', async () => {
    await temporal.connection.close();
    await database.close();
  });
  const shutdown = () => void app.close().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  await app.listen({ port: config.port, host: config.host });
  if (config.approvals.policy.when === 'never') {
    app.log.warn(
      "APPROVALS=none: no start needs a second operator's approval; every start, all tenants included, runs at once",
    );
  }
}

runEntryPoint(run);
