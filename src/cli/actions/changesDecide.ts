import type { ApprovalOutcome } from '../../runbooks/approvals/decideChange.js';
import { approveChange, rejectChange, withdrawChange } from '../../runbooks/approvals/decideChange.js';
import { withDeps, type CliDeps } from '../deps.js';
import { CLI } from '../hints.js';
import { cliInitiator } from '../initiator.js';
import { printResult } from '../output.js';
import { printable } from '../printable.js';
import { credentialsOf, requiredCredentials, signInAtCli } from '../signIn.js';
import { asShown, withChangeHint } from './changesText.js';

interface DecisionOptions {
  as?: string;
  passwordStdin?: boolean;
  comment: string;
  json?: boolean;
}

/** The engine's way to start runs and end timers, with the deployment's approval settings. */
const startDeps = ({ database, launcher, config }: CliDeps) => ({
  pool: database.pool,
  launcher,
  approvals: config.approvals,
});

/** Refused by the engine: with the CLI's hint where it has one. */
const hinted = (error: unknown) => {
  throw withChangeHint(error);
};

function approvedText(outcome: ApprovalOutcome): string {
  const { id } = outcome.changeRequest;
  switch (outcome.state) {
    case 'pending': {
      const more = outcome.changeRequest.approvalsRequired - outcome.approvals;
      return `Approved change request ${id} (${outcome.approvals} of ${outcome.changeRequest.approvalsRequired} approvals; needs ${more} more)`;
    }
    case 'started':
      return (
        `${outcome.recorded ? `Approved change request ${id}` : `Change request ${id} was approved already`}: ` +
        `run ${outcome.run.id} started. Follow it with: ${CLI} runs follow ${outcome.run.id}`
      );
    case 'voided':
      return `Change request ${id} is void: ${printable(outcome.reason)}`;
  }
}

/**
 * `changes approve`: signs the operator in (`--as`, `--password-stdin`), then approves; the last
 * approval starts the run, so Temporal is reached before anything is recorded. A request found
 * void (its data drifted past the preflight) started nothing: exit 1.
 */
export async function changesApprove(id: string, options: DecisionOptions): Promise<void> {
  const credentials = await requiredCredentials(options, `changes approve ${id}`);
  await withDeps(async (deps) => {
    const approver = await signInAtCli(deps.database.pool, credentials);
    await deps.temporal();
    const outcome = await approveChange(startDeps(deps), {
      changeRequestId: id,
      by: approver,
      comment: options.comment,
    }).catch(hinted);
    printResult(Boolean(options.json), { ...outcome, changeRequest: asShown(outcome.changeRequest) }, () =>
      approvedText(outcome),
    );
    if (outcome.state === 'voided') process.exitCode = 1;
  });
}

/** `changes reject`: signs the operator in, then rejects; nothing runs. */
export async function changesReject(id: string, options: DecisionOptions): Promise<void> {
  const credentials = await requiredCredentials(options, `changes reject ${id}`);
  await withDeps(async (deps) => {
    const rejecter = await signInAtCli(deps.database.pool, credentials);
    const rejected = await rejectChange(startDeps(deps), {
      changeRequestId: id,
      by: rejecter,
      comment: options.comment,
    }).catch(hinted);
    printResult(
      Boolean(options.json),
      asShown(rejected),
      () => `Rejected change request ${rejected.id}: nothing runs.`,
    );
  });
}

/** `changes withdraw`: its requester takes it back, as this CLI (which filed it) or signed in (`--as`). */
export async function changesWithdraw(
  id: string,
  options: Omit<DecisionOptions, 'comment'> & { comment?: string },
): Promise<void> {
  const credentials = await credentialsOf(options, `changes withdraw ${id}`);
  await withDeps(async (deps) => {
    const by = credentials ? await signInAtCli(deps.database.pool, credentials) : cliInitiator();
    const withdrawn = await withdrawChange(startDeps(deps), {
      changeRequestId: id,
      by,
      comment: options.comment,
    }).catch(hinted);
    printResult(
      Boolean(options.json),
      asShown(withdrawn),
      () => `Withdrew change request ${withdrawn.id}: nothing runs.`,
    );
  });
}
