// The approval policy (#24): which starts need approval and how many, from APPROVALS and a runbook's own.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import {
  approvalsRequired,
  parseApprovalPolicy,
  type ApprovalPolicy,
} from '../src/runbooks/approvals/approvalPolicy.js';

const all = { kind: 'all_tenants', tenants: 400 } as const;
const some = (tenants: number) => ({ kind: tenants === 1 ? 'tenant' : 'tenants', tenants }) as const;

describe('approval policy', () => {
  it('parses the four forms and refuses anything else', () => {
    expect(parseApprovalPolicy('all_tenants:1')).toEqual({ when: 'all_tenants', approvals: 1 });
    expect(parseApprovalPolicy(' all_tenants:2 ')).toEqual({ when: 'all_tenants', approvals: 2 });
    expect(parseApprovalPolicy('tenants>50:1')).toEqual({ when: 'tenants_over', tenants: 50, approvals: 1 });
    expect(parseApprovalPolicy('none')).toEqual({ when: 'never' });
    for (const bad of [
      '',
      'all',
      'all_tenants',
      'all_tenants:0',
      'all_tenants:11',
      'tenants>0:1',
      'tenants<5:1',
      'ALL_TENANTS:1',
    ]) {
      expect(parseApprovalPolicy(bad), bad).toEqual(expect.any(String));
    }
    expect(parseApprovalPolicy('every:1')).toBe(
      '"every:1" is not an approval policy (write all_tenants:1, tenants>50:1, all_tenants:2 or none)',
    );
  });

  it('counts the approvals a start needs: the more of the deployment and the runbook, none for a deploy', () => {
    const ui = (scope: { kind: 'tenant' | 'tenants' | 'all_tenants'; tenants: number }) =>
      ({ source: 'system_ui', scope }) as const;
    const allOne: ApprovalPolicy = { when: 'all_tenants', approvals: 1 };
    const over50: ApprovalPolicy = { when: 'tenants_over', tenants: 50, approvals: 1 };
    expect(approvalsRequired(ui(all), allOne, undefined)).toBe(1);
    expect(approvalsRequired(ui(some(60)), allOne, undefined)).toBe(0);
    expect(approvalsRequired(ui(some(60)), over50, undefined)).toBe(1);
    expect(approvalsRequired(ui(some(50)), over50, undefined)).toBe(0);
    expect(approvalsRequired(ui(all), over50, undefined)).toBe(1);
    expect(approvalsRequired(ui(all), { when: 'never' }, undefined)).toBe(0);
    // A runbook may ask for more than the deployment, never less.
    expect(approvalsRequired(ui(all), allOne, { when: 'all_tenants', approvals: 2 })).toBe(2);
    expect(approvalsRequired(ui(all), { when: 'all_tenants', approvals: 2 }, { when: 'never' })).toBe(2);
    expect(approvalsRequired(ui(some(3)), { when: 'never' }, { when: 'tenants_over', tenants: 1, approvals: 1 })).toBe(
      1,
    );
    expect(
      approvalsRequired({ source: 'deploy_hook', scope: all }, allOne, { when: 'all_tenants', approvals: 2 }),
    ).toBe(0);
  });

  it('is configured by APPROVALS and APPROVAL_TTL, with clear refusals', () => {
    expect(loadConfig({}).approvals).toEqual({ policy: { when: 'all_tenants', approvals: 1 }, ttlMs: 24 * 3600_000 });
    expect(loadConfig({ APPROVALS: 'none', APPROVAL_TTL: '3s' }).approvals).toEqual({
      policy: { when: 'never' },
      ttlMs: 3000,
    });
    expect(loadConfig({ APPROVAL_TTL: '7d' }).approvals.ttlMs).toBe(7 * 24 * 3600_000);
    expect(() => loadConfig({ APPROVALS: 'all' })).toThrow(/^APPROVALS: "all" is not an approval policy/);
    expect(() => loadConfig({ APPROVAL_TTL: '8d' })).toThrow('APPROVAL_TTL must be from 1s to 7 days (168h), got "8d"');
    expect(() => loadConfig({ APPROVAL_TTL: 'soon' })).toThrow(/^APPROVAL_TTL: "soon" is not a duration/);
  });
});
