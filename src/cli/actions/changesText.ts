import { effectiveStatus, type ChangeRequestRow } from '../../runbooks/approvals/changeRequests.js';
import { RunbookRefusal } from '../../runbooks/refusal.js';
import { UserError } from '../../errors.js';
import { CLI } from '../hints.js';
import { printable } from '../printable.js';

/** How far a request's scope reaches: `all tenants`, or how many. */
export function scopeText(request: Pick<ChangeRequestRow, 'scope'>): string {
  if ('allTenants' in request.scope) return 'all tenants';
  const n = request.scope.tenants.length;
  return `${n} tenant${n === 1 ? '' : 's'}`;
}

/** A request as every surface shows it: one past its deadline is expired, whether or not its timer has fired. */
export const asShown = <Request extends ChangeRequestRow>(request: Request): Request => ({
  ...request,
  status: effectiveStatus(request),
});

/** An id that names no request, with how to find one; the engine's own refusal says the same. */
export function noSuchChange(id: string): RunbookRefusal {
  return new RunbookRefusal('change_not_found', `No change request has the id ${printable(id, 80)}.`);
}

/** The refusals where the CLI can say what to type next. */
export function withChangeHint(error: unknown): unknown {
  if (error instanceof RunbookRefusal && error.code === 'change_not_found') {
    return new UserError(`${error.message} List them with: ${CLI} changes list --all`, error.exitCode);
  }
  return error;
}
