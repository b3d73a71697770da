import { getRunbook } from '../../runbooks/registry.js';
import { listRuns, type RunRecord } from '../../runbooks/runs.js';
import type { RunFilter } from '../../runbooks/model.js';
import { phaseOf } from '../../runbooks/runPhase.js';
import { describeScope } from '../../runbooks/scope.js';
import { withDeps } from '../deps.js';
import { instant, printResult, table } from '../output.js';
import { printable } from '../printable.js';

const HEADER = ['ID', 'CREATED', 'STATUS', 'OUTCOME', 'RUNBOOK', 'SCOPE'];

const runCells = (run: RunRecord): string[] => [
  run.id,
  instant(run.createdAt),
  phaseOf(run),
  run.outcome ?? '-',
  run.runbook,
  printable(describeScope(run.scope), 200),
];

export async function runsList(options: {
  status?: RunFilter;
  runbook?: string;
  limit: number;
  json?: boolean;
}): Promise<void> {
  const runbook = options.runbook === undefined ? undefined : getRunbook(options.runbook).id;
  await withDeps(async ({ database }) => {
    const rows = await listRuns(database.pool, { ...options, runbook });
    printResult(Boolean(options.json), rows, () => (rows.length ? table([HEADER, ...rows.map(runCells)]) : 'No runs.'));
  });
}
