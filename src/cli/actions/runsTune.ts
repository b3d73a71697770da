import { tuneRun } from '../../runbooks/control.js';
import { UsageError } from '../../errors.js';
import { gateDifferences, kebabCase, parseGateChange, type GateFieldName } from '../../runbooks/health/gateFields.js';
import { batchSizeName, type BatchSizeChoice } from '../../runbooks/sizing/batchSizeText.js';
import { withDeps } from '../deps.js';
import { withCliHint } from '../hints.js';
import { cliInitiator } from '../initiator.js';
import { printResult } from '../output.js';

export async function runsTune(
  id: string,
  options: {
    parallelism?: number;
    batchSize?: BatchSizeChoice;
    batchTarget?: number;
    reason: string;
    json?: boolean;
  } & Partial<Record<GateFieldName, string>>,
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
        batchSize: options.batchSize && ('auto' in options.batchSize ? 'auto' : options.batchSize.rows),
        batchTargetMs: options.batchTarget,
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
          `batch size ${batchSizeName(tuned.from)} → ${batchSizeName(tuned.to)}`,
          ...gateDifferences(tuned.from.gates, tuned.to.gates),
        ].join(', ') + '.',
    );
  });
}
