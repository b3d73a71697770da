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
