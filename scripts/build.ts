// `npm run build`: the worker as production runs it (and npm start and the bench do): the compiled
// CLI and the workflow bundle under dist/. Prints the command that starts it.
import { isAbsolute, relative } from 'node:path';
import { runEntryPoint } from '../src/entryPoint.js';
import { buildWorker, workerCommand } from '../src/temporal/workerBuild.js';

runEntryPoint(async () => {
  const { args, env } = workerCommand(await buildWorker());
  const words = [
    ...Object.entries(env).map(([name, value]) => `${name}=${value}`),
    'node',
    ...args.map((arg) => (isAbsolute(arg) ? relative(process.cwd(), arg) : arg)),
  ];
  process.stdout.write(`Built dist/. Start the worker with:\n  ${words.join(' ')}\n`);
});
