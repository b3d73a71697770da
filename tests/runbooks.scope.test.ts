import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeScope, scopesOverlap } from '../src/runbooks/scope.js';
import type { StoredScope } from '../src/runbooks/model.js';

const ALL: StoredScope = { allTenants: true };
const tenants = (...ids: number[]): StoredScope => ({
  tenants: ids.map((id) => ({ id, externalId: `tenant-${String(id).padStart(5, '0')}` })),
});

// Small ids so that random lists often share one; external ids are irrelevant to overlap.
const tenantIds = fc.uniqueArray(fc.integer({ min: 1, max: 20 }), { maxLength: 8 });
const storedScope: fc.Arbitrary<StoredScope> = fc.oneof(
  fc.constant(ALL),
  tenantIds.map((ids) => tenants(...ids)),
);

describe('scopesOverlap', () => {
  it('all tenants overlaps everything, including an empty tenant list', () => {
    for (const other of [ALL, tenants(), tenants(1), tenants(1, 2, 3)]) {
      expect(scopesOverlap(ALL, other)).toBe(true);
      expect(scopesOverlap(other, ALL)).toBe(true);
    }
  });

  it('disjoint tenant lists do not overlap', () => {
    expect(scopesOverlap(tenants(1, 2), tenants(3, 4))).toBe(false);
    expect(scopesOverlap(tenants(), tenants(1))).toBe(false);
    expect(scopesOverlap(tenants(), tenants())).toBe(false);
  });

  it('lists sharing one tenant overlap', () => {
    expect(scopesOverlap(tenants(1, 2, 3), tenants(3))).toBe(true);
    expect(scopesOverlap(tenants(7), tenants(7))).toBe(true);
  });

  it('compares tenant ids, not external ids', () => {
    const a: StoredScope = { tenants: [{ id: 1, externalId: 'same' }] };
    const b: StoredScope = { tenants: [{ id: 2, externalId: 'same' }] };
    expect(scopesOverlap(a, b)).toBe(false);
  });

  it('is symmetric', () => {
    fc.assert(fc.property(storedScope, storedScope, (a, b) => scopesOverlap(a, b) === scopesOverlap(b, a)));
  });

  it('overlaps exactly when the tenant id sets intersect', () => {
    fc.assert(
      fc.property(tenantIds, tenantIds, (a, b) => {
        const intersect = a.some((id) => b.includes(id));
        return scopesOverlap(tenants(...a), tenants(...b)) === intersect;
      }),
    );
  });
});

describe('describeScope', () => {
  it('names all tenants', () => {
    expect(describeScope(ALL)).toBe('all tenants');
  });

  it('says so when a scope names no tenant', () => {
    expect(describeScope({ tenants: [] })).toBe('no tenants');
  });

  it('lists up to three tenants by external id, in order', () => {
    expect(describeScope(tenants(1))).toBe('tenant-00001');
    expect(describeScope(tenants(3, 1))).toBe('tenant-00003, tenant-00001');
    expect(describeScope(tenants(1, 2, 3))).toBe('tenant-00001, tenant-00002, tenant-00003');
  });

  it('shortens longer lists to three names and a count', () => {
    expect(describeScope(tenants(1, 2, 3, 4))).toBe('tenant-00001, tenant-00002, tenant-00003 and 1 more');
    expect(describeScope(tenants(...Array.from({ length: 1200 }, (_, i) => i + 1)))).toBe(
      'tenant-00001, tenant-00002, tenant-00003 and 1197 more',
    );
  });
});
