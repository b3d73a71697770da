import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunbookRefusal } from '../src/runbooks/refusal.js';
import { describeScope, resolveScope, scopesOverlap } from '../src/runbooks/scope.js';
import type { StoredScope } from '../src/runbooks/model.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';

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

describe('resolveScope names a tenant by external id or exact name', () => {
  let database: TestDatabase;
  /** Tenant ids by external id. */
  const ids = new Map<string, number>();

  const TENANTS: Array<[string, string]> = [
    ['platform', 'Platform'],
    ['acme-1', 'Acme Foods'],
    ['acme-2', 'Acme Labs'],
    ['acme-3', 'Acme Travel'],
    ['acme-4', 'Acme Media'],
    ['acme-5', 'Acme Energy'],
    ['acme-6', 'Acme Retail'],
    ['twin-a', 'Twin Peaks'],
    ['twin-b', 'twin peaks'],
    // An external id that is another tenant's name: the id wins.
    ['acme labs', 'Not Acme Labs'],
    ['wild_1', '100% Wild'],
    ...Array.from({ length: 7 }, (_, i): [string, string] => [`clone-${i + 1}`, 'Clone']),
  ];

  beforeAll(async () => {
    database = await createTestDatabase();
    for (const [externalId, name] of TENANTS) {
      const { rows } = await database.pool.query<{ id: number }>(
        `WITH w AS (INSERT INTO workspaces (slug, name) VALUES ($1, $2) RETURNING id)
         INSERT INTO tenants (workspace_id, external_id, name) SELECT id, $1, $2 FROM w RETURNING id::int`,
        [externalId, name],
      );
      ids.set(externalId, rows[0]!.id);
    }
  });

  afterAll(async () => {
    await database?.destroy();
  });

  const resolve = (...externalIds: string[]) => resolveScope(database.pool, { kind: 'tenants', externalIds });
  const refusalOf = async (...externalIds: string[]) => {
    const error = await resolve(...externalIds).then(
      () => null,
      (error: unknown) => error,
    );
    expect(error).toBeInstanceOf(RunbookRefusal);
    return error as RunbookRefusal;
  };
  const externalIdsOf = async (...named: string[]) =>
    (await resolve(...named)).tenants.map((tenant) => tenant.externalId);

  it('takes an external id exactly, or a name exactly whatever its case, and stores the tenant by id', async () => {
    expect(await externalIdsOf('acme-1')).toEqual(['acme-1']);
    for (const name of ['Acme Foods', 'acme foods', 'ACME FOODS', '  Acme Foods  ']) {
      const scope = await resolve(name);
      expect(scope.kind).toBe('tenant');
      expect(scope.stored).toEqual({ tenants: [{ id: ids.get('acme-1'), externalId: 'acme-1' }] });
    }
  });

  it('counts a tenant named twice (by id and by name) once, in id order', async () => {
    const scope = await resolve('Acme Labs', 'acme-1', 'ACME FOODS');
    expect(scope.kind).toBe('tenants');
    expect(scope.tenants.map((tenant) => tenant.externalId)).toEqual(['acme-1', 'acme-2']);
  });

  it('lets an external id win over another tenant’s name', async () => {
    expect(await externalIdsOf('acme labs')).toEqual(['acme labs']);
    expect(await externalIdsOf('Acme Labs')).toEqual(['acme-2']);
  });

  it('refuses a name several tenants share, listing their external ids', async () => {
    const refusal = await refusalOf('TWIN PEAKS');
    expect(refusal.code).toBe('ambiguous_tenant');
    expect(refusal.message).toBe(
      'The name "TWIN PEAKS" belongs to 2 tenants: twin-a (Twin Peaks), twin-b (twin peaks). Name the one you mean by its external id.',
    );
    expect(await externalIdsOf('twin-b')).toEqual(['twin-b']);
    expect((await refusalOf('clone')).message).toBe(
      'The name "clone" belongs to 7 tenants: clone-1 (Clone), clone-2 (Clone), clone-3 (Clone), clone-4 (Clone), ' +
        'clone-5 (Clone) and 2 more. Name the one you mean by its external id.',
    );
  });

  it('says "did you mean" for an unknown tenant, with at most five near matches', async () => {
    const refusal = await refusalOf('acme');
    expect(refusal.code).toBe('unknown_tenant');
    // Seven tenants contain "acme"; five are offered, each as "external id (name)".
    const offered = /^Unknown tenant: acme\. Did you mean (.+)\? Name a tenant by its external id or its exact name\.$/
      .exec(refusal.message)![1]!
      .split(', ');
    expect(offered).toHaveLength(5);
    const acmes = TENANTS.filter(([, name]) => name.includes('Acme')).map(([id, name]) => `${id} (${name})`);
    for (const tenant of offered) expect(acmes).toContain(tenant);
    expect((await refusalOf('nothing-like-it')).message).toBe(
      'Unknown tenant: nothing-like-it. Name a tenant by its external id or its exact name.',
    );
    // LIKE's wildcards are text: "%" suggests the one name with a percent sign, not every tenant.
    expect((await refusalOf('0%')).message).toContain('Did you mean wild_1 (100% Wild)?');
    expect((await refusalOf('i_d')).message).toMatch(/^Unknown tenant: i_d\. Name a tenant/);
  });

  it('names every unknown tenant, with near matches for each that has some', async () => {
    const refusal = await refusalOf('acme-1', 'twin', 'nope', 'wild');
    expect(refusal.code).toBe('unknown_tenant');
    expect(refusal.message).toBe(
      'Unknown tenants: twin, nope, wild. Did you mean for twin: twin-a (Twin Peaks), twin-b (twin peaks); ' +
        'for wild: wild_1 (100% Wild)? Name a tenant by its external id or its exact name.',
    );
  });

  it('never resolves the platform tenant, by its external id or by its name', async () => {
    for (const named of [['platform'], ['Platform'], ['acme-1', 'PLATFORM'], ['nope', 'platform']]) {
      const refusal = await refusalOf(...named);
      expect(refusal.code, named.join(',')).toBe('platform_tenant');
    }
    const suggested = await refusalOf('platfor');
    expect(suggested.code).toBe('unknown_tenant');
    expect(suggested.message).not.toContain('Did you mean');
  });

  it('refuses a scope that names nobody', async () => {
    const refusal = await refusalOf(' ', '');
    expect(refusal.code).toBe('empty_scope');
    expect(refusal.message).toBe('Name at least one tenant by its external id or name, or choose all tenants.');
  });
});
