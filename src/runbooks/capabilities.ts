import type { RunbookDefinition } from './definition.js';
import type { Initiator } from './initiator.js';
import { RunbookRefusal } from './refusal.js';
import type { ScopeInput } from './scope.js';

/** Operator capabilities; a route or action names the one it needs. */
export const CAPABILITIES = {
  runbooksView: 'platform.ops.runbooks.view',
  runbooksRun: 'platform.ops.runbooks.run',
  runbooksRunAllTenants: 'platform.ops.runbooks.run_all_tenants',
  runsView: 'platform.ops.runs.view',
  runsManage: 'platform.ops.runs.manage',
  runsApprove: 'platform.ops.runs.approve',
  windowsManage: 'platform.ops.windows.manage',
  windowsOverride: 'platform.ops.windows.override',
} as const;

export type Capability = (typeof CAPABILITIES)[keyof typeof CAPABILITIES];

export const ALL_CAPABILITIES: readonly Capability[] = Object.values(CAPABILITIES);

export function isCapability(value: string): value is Capability {
  return (ALL_CAPABILITIES as readonly string[]).includes(value);
}

/**
 * The check belongs to the initiator, never to where the request says it came from: a
 * platform user is always checked; a customer holds no operator capability at all; a CLI or
 * deploy initiator is the machine's operator (who holds the database and Temporal credentials
 * already) and is trusted.
 */
export function requireCapability(initiator: Initiator, capability: Capability, action: string): void {
  if (initiator.kind === 'customer') {
    throw new RunbookRefusal('capability', `A customer account cannot ${action}; that is for platform operators.`);
  }
  if (initiator.kind !== 'platform_user') return;
  if (!initiator.capabilities.includes(capability)) {
    throw new RunbookRefusal(
      'capability',
      `You need the capability ${capability} to ${action}; ask a platform admin to grant it.`,
    );
  }
}

/**
 * Whether the initiator may start a run of this runbook and scope: an operator needs the run
 * capability (and the all-tenants one for all tenants); a customer may start only a runbook
 * that opts in to the customer trigger, of their own tenant alone, never a retry of another run.
 */
export function requireStartAllowed(
  initiator: Initiator,
  runbook: Pick<RunbookDefinition, 'title' | 'customerTrigger'>,
  start: { scope: ScopeInput; retryOf?: string | null },
): void {
  if (initiator.kind === 'customer') {
    if (!runbook.customerTrigger)
      throw new RunbookRefusal(
        'capability',
        `A customer account cannot start ${runbook.title}; that is for platform operators.`,
      );
    const named = start.scope.kind === 'tenants' ? start.scope.externalIds.map((id) => id.trim()) : [];
    if (named.length !== 1 || named[0] !== initiator.tenantExternalId || start.retryOf) {
      throw new RunbookRefusal('capability', 'A customer account can only start a run of its own organization.');
    }
    return;
  }
  requireCapability(initiator, CAPABILITIES.runbooksRun, 'start a runbook');
  if (start.scope.kind === 'all_tenants')
    requireCapability(initiator, CAPABILITIES.runbooksRunAllTenants, 'start an all-tenants run');
}
