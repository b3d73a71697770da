// Finds the Temporal CLI, or downloads or builds it (src/dev/temporalCli.ts), before the tests start,
// so that its progress is visible.
import { runEntryPoint } from '../src/entryPoint.js';
import { ensureTemporalCli } from '../src/dev/temporalCli.js';

runEntryPoint(async () => {
  await ensureTemporalCli();
});
