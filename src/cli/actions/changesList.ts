import { listChangeRequests, type ChangeRequestListEntry } from '../../runbooks/approvals/changeRequests.js';
import { withDeps } from '../deps.js';
import { CLI } from '../hints.js';
import { instant, printResult, table } from '../output.js';
import { printable } from '../printable.js';
import { asShown, scopeText } from './changesText.js';

const HEADER = ['ID', 'STATUS', 'RUNBOOK', 'SCOPE', 'APPROVALS', 'REQUESTER', 'EXPIRES'];

const requestCells = (request: ChangeRequestListEntry): string[] => [
  request.id,
  request.status,
  request.runbook,
  scopeText(request),
  `${request.approvals}/${request.approvalsRequired}`,
  printable(request.requesterLabel, 80),
  instant(request.expiresAt),
];

/** `changes list`: the open requests, the longest waiting first (what approvers work through), or with --all every one. */
export async function changesList(options: { all?: boolean; limit: number; json?: boolean }): Promise<void> {
  await withDeps(async ({ database }) => {
    const found = options.all
      ? await listChangeRequests(database.pool, { open: false, limit: options.limit })
      : await listChangeRequests(database.pool, { open: true });
    const requests = found.slice(0, options.limit).map(asShown);
    const more = found.length - requests.length;
    printResult(Boolean(options.json), requests, () =>
      [
        requests.length
          ? table([HEADER, ...requests.map(requestCells)])
          : options.all
            ? 'No change requests.'
            : `No open change requests. Every request, decided or not: ${CLI} changes list --all`,
        more > 0 ? `… and ${more} more open: --limit ${found.length} lists them all` : null,
      ]
        .filter((line) => line !== null)
        .join('\n'),
    );
  });
}
