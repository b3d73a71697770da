import { getRunbook } from '../../runbooks/registry.js';
import { withDeps } from '../deps.js';
import { existingRun } from '../existingRun.js';
import { followRun, printFollowed } from '../followRun.js';

export async function runsFollow(id: string, options: { json?: boolean }): Promise<void> {
  await withDeps(async (deps) => {
    const run = await existingRun(deps.database.pool, id);
    const { unit } = getRunbook(run.runbook);
    printFollowed(Boolean(options.json), await followRun(deps, run.id, unit), unit);
  });
}
