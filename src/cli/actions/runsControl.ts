import { controlRun, type RunAction } from '../../runbooks/control.js';
import { withDeps } from '../deps.js';
import { CLI, withCliHint } from '../hints.js';
import { cliInitiator } from '../initiator.js';
import { printResult } from '../output.js';

/** `runs cancel`, `runs pause` and `runs resume`. */
export function runsControl(action: RunAction) {
  return async (id: string, options: { reason?: string; json?: boolean }): Promise<void> => {
    await withDeps(async ({ database, launcher }) => {
      const run = await controlRun(
        { pool: database.pool, launcher },
        { runId: id, initiator: cliInitiator(), source: 'cli', reason: options.reason },
        action,
      ).catch((error: unknown) => {
        throw withCliHint(error);
      });
      printResult(
        Boolean(options.json),
        { runId: run.id, action },
        () => `Asked run ${run.id} to ${action}. Follow it with: ${CLI} runs follow ${run.id}`,
      );
    });
  };
}
