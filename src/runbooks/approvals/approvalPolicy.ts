import type { RunSource, ScopeKind } from '../model.js';

/**
 * Which starts need a second operator's approval, and how many: every all-tenants start, every
 * start over more than some tenants, or none. The deployment says it (`APPROVALS`); a runbook may
 * ask for more on its own (`RunbookDefinition.approvals`), never less.
 */
export type ApprovalPolicy =
  | { when: 'never' }
  | { when: 'all_tenants'; approvals: number }
  | { when: 'tenants_over'; tenants: number; approvals: number };

/** The deployment's approval settings: its policy, and how long a request stays open. */
export interface ApprovalSettings {
  policy: ApprovalPolicy;
  ttlMs: number;
}

const MAX_APPROVALS = 10;
export const DEFAULT_APPROVAL_TTL_MS = 24 * 3600_000;
export const MAX_APPROVAL_TTL_MS = 7 * 24 * 3600_000;

const count = (text: string, what: string, min: number, max: number): number | string => {
  const value = Number(text);
  return /^\d+$/.test(text) && value >= min && value <= max
    ? value
    : `${what} must be a whole number from ${min} to ${max}`;
};

/** `none`, `all_tenants:N` or `tenants>K:N`; the policy or what is wrong with the text. */
export function parseApprovalPolicy(text: string): ApprovalPolicy | string {
  const trimmed = text.trim();
  if (trimmed === 'none') return { when: 'never' };
  const match = /^(all_tenants|tenants>(\d+)):(\d+)$/.exec(trimmed);
  if (!match) {
    return `"${trimmed.slice(0, 100)}" is not an approval policy (write all_tenants:1, tenants>50:1, all_tenants:2 or none)`;
  }
  const approvals = count(match[3]!, 'the number of approvals', 1, MAX_APPROVALS);
  if (typeof approvals === 'string') return approvals;
  if (match[2] === undefined) return { when: 'all_tenants', approvals };
  const tenants = count(match[2], 'the number of tenants', 1, 1_000_000);
  if (typeof tenants === 'string') return tenants;
  return { when: 'tenants_over', tenants, approvals };
}

function requiredBy(policy: ApprovalPolicy | undefined, scope: { kind: ScopeKind; tenants: number }): number {
  if (!policy) return 0;
  switch (policy.when) {
    case 'never':
      return 0;
    case 'all_tenants':
      return scope.kind === 'all_tenants' ? policy.approvals : 0;
    case 'tenants_over':
      return scope.tenants > policy.tenants ? policy.approvals : 0;
  }
}

/**
 * How many approvals a start needs: the more of the deployment's and the runbook's. A deploy
 * pipeline's start needs none: its release was approved where it was made.
 */
export function approvalsRequired(
  start: { source: RunSource; scope: { kind: ScopeKind; tenants: number } },
  deployment: ApprovalPolicy | undefined,
  runbook: ApprovalPolicy | undefined,
): number {
  if (start.source === 'deploy_hook') return 0;
  return Math.max(requiredBy(deployment, start.scope), requiredBy(runbook, start.scope));
}
