import { RunbookRefusal } from './refusal.js';
import type { ResolvedScope } from './scope.js';
import type { RunGuards, GuardsInput } from './model.js';

/** The largest error budget in tenants taken: more than any scope has. */
const MAX_FAILED_TENANTS = 1_000_000;

const wholeNumber = (value: number | undefined, min: number, max: number) =>
  value === undefined || (Number.isInteger(value) && value >= min && value <= max);

/**
 * The error budget and canary wave a start asks for, checked against its scope: both are for
 * multi-tenant runs, a canary has at least one tenant and no more than the scope, and named
 * canary tenants must be in the scope.
 */
export function resolveGuards(input: GuardsInput | undefined, scope: ResolvedScope): RunGuards {
  if (!input || (input.maxFailedTenants === undefined && input.maxFailedPercent === undefined && !input.canary))
    return {};
  if (scope.kind === 'tenant') {
    throw new RunbookRefusal(
      'invalid_guards',
      'An error budget or a canary wave needs a run of several tenants; this one covers one.',
    );
  }
  if (!wholeNumber(input.maxFailedTenants, 0, MAX_FAILED_TENANTS)) {
    throw new RunbookRefusal(
      'invalid_guards',
      `The error budget in failed tenants must be a whole number from 0 to ${MAX_FAILED_TENANTS.toLocaleString('en-US')}.`,
    );
  }
  if (!wholeNumber(input.maxFailedPercent, 0, 100)) {
    throw new RunbookRefusal('invalid_guards', 'The error budget in percent must be a whole number from 0 to 100.');
  }
  const guards: RunGuards = {};
  if (input.maxFailedTenants !== undefined) guards.maxFailedTenants = input.maxFailedTenants;
  if (input.maxFailedPercent !== undefined) guards.maxFailedPercent = input.maxFailedPercent;
  if (!input.canary) return guards;
  const named = input.canary.tenants?.map((id) => id.trim()).filter(Boolean);
  if (named && named.length > 0) {
    const byExternalId = new Map(scope.tenants.map((tenant) => [tenant.externalId, tenant.id]));
    const outside = named.filter((id) => !byExternalId.has(id));
    if (outside.length > 0)
      throw new RunbookRefusal(
        'invalid_guards',
        `Canary tenants must be in the run's scope; not in it: ${outside.join(', ')}.`,
      );
    const tenantIds = [...new Set(named.map((id) => byExternalId.get(id)!))];
    return { ...guards, canary: { count: tenantIds.length, tenantIds } };
  }
  const count = input.canary.count ?? 1;
  if (!wholeNumber(count, 1, scope.tenants.length - 1)) {
    throw new RunbookRefusal(
      'invalid_guards',
      `A canary wave runs 1 to ${scope.tenants.length - 1} tenants of the ${scope.tenants.length} in scope; got ${count}.`,
    );
  }
  return { ...guards, canary: { count } };
}
