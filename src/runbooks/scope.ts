import type { Queryable } from '../db/queryable.js';
import { PLATFORM_TENANT_EXTERNAL_ID } from '../db/schema/tenancy.js';
import { RunbookRefusal } from './refusal.js';
import { searchTenants, type TenantMatch } from './searchTenants.js';
import type { ScopeKind, StoredScope, TenantRef } from './model.js';

/** What a caller asks for: named tenants (one or more), or every customer tenant. */
export type ScopeInput = { kind: 'tenants'; externalIds: string[] } | { kind: 'all_tenants' };

export interface ResolvedScope {
  kind: ScopeKind;
  tenants: TenantRef[];
  stored: StoredScope;
}

const TENANT_COLUMNS = 'id, external_id AS "externalId", workspace_id AS "workspaceId"';

/** How many tenants a refusal names: near matches of an unknown tenant, candidates of an ambiguous name. */
const LISTED = 5;
/** How many unknown tenants get near matches: a longer list is a paste gone wrong, not a typo. */
const SUGGESTED_UNKNOWNS = 3;

/** "tenant-00011 (Acme Foods), …", the first LISTED of them and how many more. */
const listed = (tenants: TenantMatch[]) =>
  tenants
    .slice(0, LISTED)
    .map((tenant) => `${tenant.externalId} (${tenant.name})`)
    .join(', ') + (tenants.length > LISTED ? ` and ${tenants.length - LISTED} more` : '');

/**
 * Each named value's tenant: by external id (exact), else by name (exact, case-insensitive).
 * External ids are unique, so an id always wins over another tenant's name; a name several
 * tenants share is ambiguous, and each of those tenants is listed.
 */
async function tenantsNamed(
  q: Queryable,
  named: string[],
): Promise<{ found: Map<string, TenantRef>; ambiguous: Map<string, TenantMatch[]> }> {
  const { rows: byId } = await q.query<TenantRef>(
    `SELECT ${TENANT_COLUMNS} FROM tenants WHERE external_id = ANY($1::text[])`,
    [named],
  );
  const found = new Map(byId.map((tenant) => [tenant.externalId, tenant]));
  const ambiguous = new Map<string, TenantMatch[]>();
  const rest = named.filter((value) => !found.has(value));
  if (rest.length === 0) return { found, ambiguous };
  // Compared by PostgreSQL's lower() on both sides, so that what matches does not depend on
  // JavaScript's case rules agreeing with the database's.
  const { rows: byName } = await q.query<TenantRef & { named: string; name: string }>(
    `SELECT v.named, t.id, t.external_id AS "externalId", t.workspace_id AS "workspaceId", t.name
       FROM unnest($1::text[]) AS v (named)
       JOIN tenants t ON lower(t.name) = lower(v.named)
      ORDER BY t.id`,
    [rest],
  );
  for (const value of rest) {
    const matches = byName.filter((row) => row.named === value);
    if (matches.length === 1) {
      const { id, externalId, workspaceId } = matches[0]!;
      found.set(value, { id, externalId, workspaceId });
    } else if (matches.length > 1) {
      ambiguous.set(value, matches);
    }
  }
  return { found, ambiguous };
}

/** The refusal of tenants nothing names, with near matches ("did you mean") for the first few. */
async function unknownTenants(q: Queryable, unknown: string[]): Promise<RunbookRefusal> {
  const suggestions: Array<{ value: string; matches: TenantMatch[] }> = [];
  for (const value of unknown.slice(0, SUGGESTED_UNKNOWNS)) {
    const matches = await searchTenants(q, value, LISTED);
    if (matches.length) suggestions.push({ value, matches });
  }
  const didYouMean =
    suggestions.length === 0
      ? ''
      : unknown.length === 1
        ? ` Did you mean ${listed(suggestions[0]!.matches)}?`
        : ` Did you mean ${suggestions.map(({ value, matches }) => `for ${value}: ${listed(matches)}`).join('; ')}?`;
  const s = unknown.length > 1 ? 's' : '';
  return new RunbookRefusal(
    'unknown_tenant',
    `Unknown tenant${s}: ${unknown.join(', ')}.${didYouMean} Name a tenant by its external id or its exact name.`,
  );
}

/**
 * Customer tenants in scope, in id order; the platform tenant is never among them. A tenant is
 * named by its external id or by its exact name (case-insensitive), so that the console's field
 * and the CLI's `--tenant "Acme Foods"` take what a person knows.
 */
export async function resolveScope(q: Queryable, input: ScopeInput): Promise<ResolvedScope> {
  if (input.kind === 'all_tenants') {
    const { rows } = await q.query<TenantRef>(
      `SELECT ${TENANT_COLUMNS} FROM tenants WHERE external_id <> $1 ORDER BY id`,
      [PLATFORM_TENANT_EXTERNAL_ID],
    );
    return { kind: 'all_tenants', tenants: rows, stored: { allTenants: true } };
  }
  const named = [...new Set(input.externalIds.map((id) => id.trim()).filter(Boolean))];
  if (named.length === 0) {
    throw new RunbookRefusal(
      'empty_scope',
      'Name at least one tenant by its external id or name, or choose all tenants.',
    );
  }
  const { found, ambiguous } = await tenantsNamed(q, named);
  if ([...found.values()].some((tenant) => tenant.externalId === PLATFORM_TENANT_EXTERNAL_ID)) {
    throw new RunbookRefusal(
      'platform_tenant',
      `The platform tenant ("${PLATFORM_TENANT_EXTERNAL_ID}") can never be targeted by a runbook; remove it from the scope.`,
    );
  }
  const unknown = named.filter((value) => !found.has(value) && !ambiguous.has(value));
  if (unknown.length > 0) throw await unknownTenants(q, unknown);
  const first = [...ambiguous].at(0);
  if (first) {
    const [name, candidates] = first;
    throw new RunbookRefusal(
      'ambiguous_tenant',
      `The name "${name}" belongs to ${candidates.length} tenants: ${listed(candidates)}. Name the one you mean by its external id.`,
    );
  }
  // A tenant named twice (by its id and by its name) is in scope once.
  const tenants = [...new Map([...found.values()].map((tenant) => [tenant.id, tenant])).values()].sort(
    (a, b) => a.id - b.id,
  );
  return {
    kind: tenants.length === 1 ? 'tenant' : 'tenants',
    tenants,
    stored: { tenants: tenants.map(({ id, externalId }) => ({ id, externalId })) },
  };
}

export function describeScope(scope: StoredScope): string {
  if ('allTenants' in scope) return 'all tenants';
  const names = scope.tenants.map((tenant) => tenant.externalId);
  if (names.length === 0) return 'no tenants';
  return names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;
}

/** Whether two stored scopes share a tenant (all tenants overlaps everything). */
export function scopesOverlap(a: StoredScope, b: StoredScope): boolean {
  if ('allTenants' in a || 'allTenants' in b) return true;
  const ids = new Set(a.tenants.map((tenant) => tenant.id));
  return b.tenants.some((tenant) => ids.has(tenant.id));
}

/** The canonical form of a stored scope: tenant ids sorted, nothing else. */
function canonicalScope(scope: StoredScope): string {
  if ('allTenants' in scope) return 'all';
  return [...new Set(scope.tenants.map((tenant) => Number(tenant.id)))].sort((a, b) => a - b).join(',');
}

/** Whether two stored scopes name the same tenants, whatever their order or JSON key order. */
export function sameScope(a: StoredScope, b: StoredScope): boolean {
  return canonicalScope(a) === canonicalScope(b);
}
