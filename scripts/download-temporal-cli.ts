// `tsx scripts/download-temporal-cli.ts <folder>`: the Temporal CLI at <folder>/temporal, by the
// Temporal SDK's own download (the one @temporalio/testing's TestWorkflowEnvironment.createLocal
// makes, from temporal.download, of the CLI release its SDK version is tested with).
// src/dev/temporalCli.ts runs it in a process group of its own, which it kills after its time bound.
import { rename } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { UsageError, UserError, firstLine } from '../src/errors.js';
import { runEntryPoint } from '../src/entryPoint.js';

runEntryPoint(async () => {
  const folder = process.argv[2];
  if (!folder) throw new UsageError('usage: tsx scripts/download-temporal-cli.ts <folder>');
  // Killed with its group when whoever started it is gone (Ctrl-C reaches only the terminal's group).
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.kill(-process.pid, 'SIGKILL');
  }, 500).unref();
  // Without the SDK's signal handlers, which would keep SIGTERM and Ctrl-C from ending this process.
  const runtime = Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
  const { version } = createRequire(import.meta.url)('@temporalio/worker/package.json') as { version: string };
  let server;
  try {
    // The SDK downloads the CLI only to start a dev server from it: this one, in memory on a free
    // port, is stopped as soon as it answers.
    server = await runtime.createEphemeralServer({
      type: 'dev-server',
      // The file is moved away at once, so the cache's lifetime never matters.
      exe: {
        type: 'cached-download',
        downloadDir: folder,
        version: 'default',
        ttl: 0,
        sdkName: 'sdk-typescript',
        sdkVersion: version,
      },
      namespace: 'default',
      ip: '127.0.0.1',
      port: null,
      uiPort: null,
      dbFilename: null,
      ui: false,
      log: { format: 'pretty', level: 'error' },
      extraArgs: [],
    });
  } catch (error) {
    // The SDK's error says each level's part, and a failed request's URL at two of them: said once here.
    const parts = firstLine(error).split(': ');
    throw new UserError(parts.filter((part, i) => part !== parts[i - 1]).join(': '));
  }
  await runtime.shutdownEphemeralServer(server);
  // The SDK names its download after the SDK: temporal-<sdk name>-<sdk version>.
  await rename(join(folder, `temporal-sdk-typescript-${version}`), join(folder, 'temporal'));
});
