import type { Initiator } from './initiator.js';
import { RunbookRefusal } from './refusal.js';

/** Operator capabilities; a route or action names the one it needs. */
export const CAPABILITIES = {
  runbooksView: 'platform.ops.runbooks.view',
  runbooksRun: 'platform.ops.runbooks.run',
  runbooksRunAllTenants: 'platform.ops.runbooks.run_all_tenants',
  runsView: 'platform.ops.runs.view',
  runsManage: 'platform.ops.runs.manage',
} as const;

export type Capability = (typeof CAPABILITIES)[keyof typeof CAPABILITIES];

export const ALL_CAPABILITIES: readonly Capability[] = Object.values(CAPABILITIES);

/**
 * The check belongs to the initiator, never to where the request says it came from: a
 * platform user is always checked; a CLI or deploy initiator is the machine's operator (who
 * holds the database and Temporal credentials already) and is trusted.
 */
export function requireCapability(initiator: Initiator, capability: Capability, action: string): void {
  if (initiator.kind !== 'platform_user') return;
  if (!initiator.capabilities.includes(capability)) {
    throw new RunbookRefusal('capability', `You need the capability ${capability} to ${action}; ask a platform admin to grant it.`);
  }
}
