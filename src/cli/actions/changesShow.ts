import { approvalsOf, getChangeRequest, type ChangeRequestRecord } from '../../runbooks/approvals/changeRequests.js';
import { voidReasonOf } from '../../runbooks/approvals/voidReason.js';
import { loadPreflight } from '../../runbooks/preflight.js';
import { progressText } from '../../runbooks/progressText.js';
import { getRunbook } from '../../runbooks/registry.js';
import { getRun, type RunRecord } from '../../runbooks/runs.js';
import { describeScope } from '../../runbooks/scope.js';
import { withDeps } from '../deps.js';
import { CLI } from '../hints.js';
import { instant, printResult } from '../output.js';
import { printable } from '../printable.js';
import { formatPreflight } from '../startFromCli.js';
import { asShown, noSuchChange, withChangeHint } from './changesText.js';

/** Where the request stands: how many approvals it has, and until when it waits or since when it is decided. */
function standing(request: ChangeRequestRecord): string {
  const given = `${approvalsOf(request).length} of ${request.approvalsRequired} approval${request.approvalsRequired === 1 ? '' : 's'}`;
  if (request.status === 'open') return `${given}; open until ${instant(request.expiresAt)}`;
  if (request.status === 'expired') return `${given}; expired at ${instant(request.expiresAt)}`;
  return `${given}; ${request.status} at ${instant(request.decidedAt)}`;
}

/** What to run next, by where the request stands. */
function nextSteps(request: ChangeRequestRecord, run: RunRecord | null): string[] {
  const { id } = request;
  switch (request.status) {
    case 'open': {
      const withdrawAs = request.requesterPlatformUserId === null ? '' : ` --as <email> --password-stdin`;
      return [
        `  another operator approves: ${CLI} changes approve ${id} --as <email> --password-stdin --comment "<what you checked>"`,
        `  or rejects:                ${CLI} changes reject ${id} --as <email> --password-stdin --comment "<why not>"`,
        `  ${printable(request.requesterLabel, 200)}, who filed it, may withdraw it: ${CLI} changes withdraw ${id}${withdrawAs}`,
      ];
    }
    case 'approved':
      if (!run) {
        return [
          `  approved, and its run has not started yet; an approver starts it with: ${CLI} changes approve ${id} --as <email> --password-stdin --comment "<what you checked>"`,
        ];
      }
      return run.status === 'completed'
        ? [`  its run is over: ${CLI} runs show ${run.id}`]
        : [`  follow its run: ${CLI} runs follow ${run.id}`];
    default:
      return [
        '  nothing runs from it; to do it after all, start the runbook again (start-runbook), which files a new request',
      ];
  }
}

/** `changes show`: the request, its preflight, the decisions on it with their comments, the run it became, what next. */
export async function changesShow(id: string, options: { json?: boolean }): Promise<void> {
  await withDeps(async ({ database }) => {
    const found = await getChangeRequest(database.pool, id);
    if (!found) throw withChangeHint(noSuchChange(id));
    const request = asShown(found);
    const [preflight, run, voidedBy] = await Promise.all([
      loadPreflight(database.pool, request.preflightId),
      request.runId ? getRun(database.pool, request.runId) : null,
      request.status === 'voided' ? voidReasonOf(database.pool, request.id) : null,
    ]);
    printResult(Boolean(options.json), { changeRequest: request, preflight, run, voidedBy }, () =>
      [
        `Change request ${request.id} — ${request.runbook} on ${printable(describeScope(request.scope))}: ${request.status}`,
        `  filed by ${printable(request.requesterLabel, 200)} (${request.source}) at ${instant(request.createdAt)}: "${printable(request.reason)}"`,
        `  ${standing(request)}`,
        preflight ? formatPreflight(preflight) : `Preflight ${request.preflightId} is no longer saved.`,
        'Decisions:',
        ...(request.decisions.length
          ? request.decisions.map(
              (decision) =>
                `  ${instant(decision.createdAt)}  ${decision.decision === 'approve' ? 'approved' : 'rejected'} by ${printable(decision.label, 200)}: "${printable(decision.comment)}"`,
            )
          : ['  none yet']),
        run ? `Run ${run.id}: ${printable(progressText(run, getRunbook(run.runbook).unit))}` : null,
        voidedBy ? `Void: ${printable(voidedBy)}` : null,
        'Next:',
        ...nextSteps(request, run),
      ]
        .filter((line) => line !== null)
        .join('\n'),
    );
  });
}
