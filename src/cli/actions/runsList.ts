import { getRunbook } from '../../runbooks/registry.js';
import { listRuns, type RunRecord } from '../../runbooks/runs.js';
import type { RunStatus } from '../../runbooks/model.js';
import { describeScope } from '../../runbooks/scope.js';
import { withDeps } from '../deps.js';
import { instant, printResult } from '../output.js';
import { printable } from '../printable.js';

function runLine(run: RunRecord): string {
  const status = run.pausedAt ? 'paused' : run.status;
  return [
    run.id,
    instant(run.createdAt),
    status.padEnd(9),
    (run.outcome ?? '-').padEnd(19),
    run.runbook,
    printable(describeScope(run.scope), 200),
  ].join('  ');
}

export async function runsList(options: {
  status?: RunStatus;
  runbook?: string;
  limit: number;
  json?: boolean;
}): Promise<void> {
  const runbook = options.runbook === undefined ? undefined : getRunbook(options.runbook).id;
  await withDeps(async ({ database }) => {
    const rows = await listRuns(database.pool, { ...options, runbook });
    printResult(Boolean(options.json), rows, () => (rows.length ? rows.map(runLine).join('\n') : 'No runs.'));
  });
}
