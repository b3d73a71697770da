// Finds or builds the Temporal CLI before the tests start, so the build's progress is visible.
import { runEntryPoint } from '../src/entryPoint.js';
import { ensureTemporalCli } from '../src/dev/temporalCli.js';

runEntryPoint(async () => {
  await ensureTemporalCli();
});
