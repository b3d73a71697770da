import { tuneRun } from '../../runbooks/control.js';
import { UsageError } from '../../errors.js';
import { gateDifferences, kebabCase, parseGateChange, type GateFieldName } from '../../runbooks/health/gateFields.js';
import { withDeps } from '../deps.js';
import { withCliHint } from '../hints.js';
import { cliInitiator } from '../initiator.js';
import { printResult } from '../output.js';

export async function runsTune(
  id: string,
  options: { parallelism?: number; batchSize?: number; reason: string; json?: boolean } & Partial<
    Record<GateFieldName, string>
  >,
): Promise<void> {
  const gates = parseGateChange(options, (name) => `--${kebabCase(name)}`);
  if ('problem' in gates) throw new UsageError(gates.problem);
  await withDeps(async ({ database, launcher }) => {
    const tuned = await tuneRun(
      { pool: database.pool, launcher },
      {
        runId: id,
        initiator: cliInitiator(),
        source: 'cli',
        parallelism: options.parallelism,
        batchSize: options.batchSize,
        gates: gates.change,
        reason: options.reason,
      },
    ).catch((error: unknown) => {
      throw withCliHint(error);
    });
    printResult(
      Boolean(options.json),
      tuned,
      () =>
        [
          `Run ${id}: parallelism ${tuned.from.parallelism} → ${tuned.to.parallelism}`,
          `batch size ${tuned.from.batchSize} → ${tuned.to.batchSize}`,
          ...gateDifferences(tuned.from.gates, tuned.to.gates),
        ].join(', ') + '.',
    );
  });
}
