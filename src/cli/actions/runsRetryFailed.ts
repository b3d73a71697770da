import { failedTenantsOf } from '../../runbooks/retryFailed.js';
import type { StartRequest } from '../../runbooks/validateStart.js';
import { withDeps } from '../deps.js';
import { withCliHint } from '../hints.js';
import { cliInitiator } from '../initiator.js';
import { startFromCli } from '../startFromCli.js';

export async function runsRetryFailed(
  id: string,
  options: { reason: string; idempotencyKey?: string; wait?: boolean; json?: boolean },
): Promise<void> {
  await withDeps(async (deps) => {
    const { run, scope } = await failedTenantsOf(deps.database.pool, id).catch((error: unknown) => {
      throw withCliHint(error);
    });
    const request: StartRequest = {
      runbook: run.runbook,
      scope,
      parameters: run.parameters,
      initiator: cliInitiator(),
      reason: options.reason,
      source: 'cli',
      idempotencyKey: options.idempotencyKey ?? null,
      retryOf: run.id,
    };
    await startFromCli(deps, request, options);
  });
}
