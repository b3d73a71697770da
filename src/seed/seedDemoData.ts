import type pg from 'pg';
import { PLATFORM_TENANT_EXTERNAL_ID } from '../db/schema/tenancy.js';
import { inTransaction } from '../db/transaction.js';
import { SEED_LIMITS } from './limits.js';
import { rebuildFindingsBatch } from '../catalog/findings-lifecycle/rebuildSql.js';

/**
 * Demo and benchmark data that looks like what the product held before the lifecycle rules:
 * legacy statuses, empty seen statistics, `lifecycle_version = 0`, plus each finding's detections
 * and status events. Every row is generated inside PostgreSQL (INSERT ... SELECT over
 * generate_series) and every random choice is a hash of (seed, tenant ordinal, finding ordinal,
 * field), so a given seed yields the same rows — ids included when the database starts empty.
 */

/** The seed's "now": every generated timestamp lies before it. Fixed, so output is deterministic. */
export const SEED_BASE_DATE = '2026-01-01T00:00:00.000Z';

/** Findings the platform's own tenant gets, so tests can prove runbooks never touch them. */
const PLATFORM_FINDINGS = 20;

/** Share of each customer tenant's findings (its lowest ids) that is already rebuilt. */
const ALREADY_REBUILT_SHARE = 0.1;

/** Findings written per transaction, and tenants at most. */
const CHUNK_FINDINGS = 80_000;
const CHUNK_TENANTS = 5_000;

export interface SeedOptions {
  tenants: number;
  findingsPerTenant: number;
  seed: number;
  onProgress?: (progress: SeedProgress) => void;
}

export interface SeedProgress {
  tenantsDone: number;
  tenantsTotal: number;
  findingsDone: number;
  findingsTotal: number;
}

export interface SeedResult {
  /** Customer tenants created by this call (each in its own workspace). */
  tenants: number;
  /** Rows this call inserted for those tenants. */
  findings: number;
  detections: number;
  events: number;
  /** Of `findings`, how many were rebuilt to lifecycle_version 1 right away. */
  alreadyRebuilt: number;
  /** External ids of the first and last tenant created (null when none). */
  externalIds: { first: string; last: string } | null;
  /** Findings given to the platform tenant by this call (0 when it already had some). */
  platformFindings: number;
  ms: number;
}

// ---------------------------------------------------------------------------------------------
// Deterministic hashing. Each field ("salt") gets its own hash seed, derived from the user's seed
// with splitmix64 here, and PostgreSQL's hashint8extended(key, fieldSeed) does the rest per row.

const SALTS = [
  'severity',
  'age',
  'micros',
  'status',
  'due',
  'resolved',
  'resolvedAfter',
  'title',
  'place',
  'fingerprint',
  'findingKey',
  'step',
  'detections',
  'detectionSlot',
  'events',
  'eventType',
  'eventSlot',
  'actor',
  'tenantName',
  'tenantKind',
  'tenantAge',
] as const;
type Salt = (typeof SALTS)[number];

const MASK64 = (1n << 64n) - 1n;

function splitmix64(x: bigint): bigint {
  let z = (x + 0x9e3779b97f4a7c15n) & MASK64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

function hashSeeds(seed: number): Record<Salt, string> {
  const base = splitmix64(BigInt(seed));
  const entries = SALTS.map((salt, index) => {
    // A signed 64-bit literal; only digits and '-', so safe to put into SQL text.
    const value = BigInt.asIntN(64, splitmix64(base ^ BigInt(index + 1)));
    return [salt, `(${value.toString()})::bigint`];
  });
  return Object.fromEntries(entries) as Record<Salt, string>;
}

/** SQL for a uniform whole number in [0, n) from a bigint key expression and a field. */
function pick(seeds: Record<Salt, string>, key: string, salt: Salt, n: number): string {
  return `((hashint8extended(${key}, ${seeds[salt]}) & 9223372036854775807) % ${n})`;
}

function sqlArray(values: readonly string[]): string {
  return `ARRAY[${values.map((value) => `'${value.replace(/'/g, "''")}'`).join(', ')}]::text[]`;
}

const TENANT_FIRST = [
  'Acme',
  'Northwind',
  'Globex',
  'Initech',
  'Umbrella',
  'Hooli',
  'Vandelay',
  'Blue Harbor',
  'Red Rock',
  'Silver Lake',
  'Green Valley',
  'Iron Peak',
  'Summit',
  'Pinecrest',
  'Lakeside',
  'Brightwater',
  'Clearview',
  'Redwood',
  'Oakridge',
  'Evergreen',
  'Skyline',
  'Granite',
  'Sterling',
  'Bluebird',
  'Copperfield',
];
const TENANT_SECOND = [
  'Robotics',
  'Logistics',
  'Health',
  'Analytics',
  'Capital',
  'Foods',
  'Energy',
  'Labs',
  'Systems',
  'Media',
  'Retail',
  'Insurance',
  'Biotech',
  'Aerospace',
  'Networks',
  'Pharma',
  'Travel',
  'Learning',
  'Studios',
  'Manufacturing',
];
const ISSUES = [
  'SQL injection',
  'Reflected cross-site scripting',
  'Stored cross-site scripting',
  'Outdated OpenSSL',
  'Publicly readable storage bucket',
  'Hard-coded credentials',
  'Weak TLS cipher suites',
  'Missing security headers',
  'SSH open to the internet',
  'Log4Shell (CVE-2021-44228)',
  'Expired TLS certificate',
  'Server-side request forgery',
  'Insecure deserialization',
  'Directory listing enabled',
  'Default admin password',
  'Vulnerable npm dependency',
  'Privileged container',
  'MFA disabled for admin user',
  'Overly permissive IAM role',
  'Unencrypted database snapshot',
  'Verbose error messages',
  'Open redirect',
  'Path traversal',
  'XML external entity expansion',
  'Missing CSRF protection',
  'Root login over SSH allowed',
];
const PLACES = [
  'api-gateway',
  'billing-service',
  'checkout',
  'auth-service',
  'customer-portal',
  'reporting',
  'search',
  'notifications',
  'mobile-backend',
  'data-pipeline',
  'admin-console',
  'payments',
  'inventory',
  'cdn-edge',
  'k8s/prod-cluster',
  'postgres-primary',
  'redis-cache',
  'jenkins',
  'vpn-gateway',
  'marketing-site',
];
const ACTORS = [
  'alice.nguyen',
  'bob.schmidt',
  'carla.diaz',
  'dev.patel',
  'erin.okafor',
  'system:auto-triage',
  'system:scanner-sync',
  'integration:jira',
  'integration:servicenow',
];

/** Findings of one tenant, by ordinal within the tenant (1-based, inclusive). */
interface Slice {
  /** Index of the tenant among those this call creates. */
  tenant: number;
  fromFinding: number;
  toFinding: number;
}

interface Chunk {
  slices: Slice[];
  /** Tenants created in this chunk (their first slice is here). */
  created: number[];
  /** Tenants whose last finding is in this chunk. */
  completed: number[];
  findings: number;
}

/**
 * Consecutive tenants' findings in chunks of about CHUNK_FINDINGS; a tenant is split across chunks
 * only when it alone has more. Without findings, tenants still come in chunks (of CHUNK_TENANTS).
 */
function planChunks(tenants: number, perTenant: number): Chunk[] {
  const chunks: Chunk[] = [];
  let current: Chunk = { slices: [], created: [], completed: [], findings: 0 };
  for (let tenant = 0; tenant < tenants; tenant += 1) {
    for (let from = 1; from === 1 || from <= perTenant; from += CHUNK_FINDINGS) {
      const to = Math.min(perTenant, from + CHUNK_FINDINGS - 1);
      const size = to - from + 1;
      const full = current.findings > 0 && current.findings + size > CHUNK_FINDINGS;
      if (full || current.slices.length >= CHUNK_TENANTS) {
        chunks.push(current);
        current = { slices: [], created: [], completed: [], findings: 0 };
      }
      current.slices.push({ tenant, fromFinding: from, toFinding: to });
      current.findings += size;
      if (from === 1) current.created.push(tenant);
      if (to === perTenant) current.completed.push(tenant);
    }
  }
  if (current.slices.length > 0) chunks.push(current);
  return chunks;
}

/** One statement: a chunk's findings, then their detections and events from the RETURNING rows. */
function findingsChunkSql(seed: number): string {
  const s = hashSeeds(seed);
  const key = 'src.key';
  // Per finding, a 64-bit key from its fingerprint (itself a hash of seed, tenant and ordinal), so
  // that detections and events do not depend on the ids the findings happened to get.
  const fk = 'x.fk';
  const det = 'f.fk # d.n';
  const ev = 'f.fk # (16 + e.n)';
  return `
WITH src AS (
  SELECT t.tenant_id, t.ordinal, f.n, t.ordinal * 1048576 + f.n AS key
    FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::int[]) AS t(tenant_id, ordinal, from_n, to_n)
   CROSS JOIN LATERAL generate_series(t.from_n, t.to_n) AS f(n)
), draws AS (
  SELECT src.tenant_id, src.ordinal, src.n,
         -- Looks like a hash; the ordinal at the end keeps it unique within the tenant.
         lpad(to_hex(hashint8extended(${key}, ${s.fingerprint})), 16, '0')
           || lpad(to_hex(src.n), 5, '0') AS fingerprint,
         (${sqlArray(ISSUES)})[1 + ${pick(s, key, 'title', ISSUES.length)}]
           || ' in ' || (${sqlArray(PLACES)})[1 + ${pick(s, key, 'place', PLACES.length)}] AS title,
         ${pick(s, key, 'severity', 100)} AS severity_draw,
         -- Legacy statuses, messy as old data is: open, acknowledged, fixed, closed, NULL, ...
         (ARRAY['open', 'open', 'open', 'open', 'open', 'open', 'open', 'open', 'acknowledged', 'acknowledged',
                'acknowledged', 'fixed', 'fixed', 'fixed', 'fixed', 'closed', 'closed', NULL, NULL, 'wont_fix',
                'in_progress', 'OPEN']::text[])[1 + ${pick(s, key, 'status', 22)}] AS status,
         -- Spread over the year before the base date, to the microsecond.
         $5::timestamptz
           - interval '1 second' * (86400 + ${pick(s, key, 'age', 364 * 86400)})
           - interval '1 microsecond' * ${pick(s, key, 'micros', 1_000_000)} AS created_at,
         ${pick(s, key, 'due', 100)} AS due_draw,
         ${pick(s, key, 'resolved', 100)} AS resolved_draw,
         ${pick(s, key, 'resolvedAfter', 60 * 86400)} AS resolved_after
    FROM src
), ins AS (
  INSERT INTO findings (tenant_id, fingerprint, title, severity, status, due_at, resolved_at, created_at, updated_at)
  SELECT tenant_id, fingerprint, title,
         CASE WHEN severity_draw < 3 THEN 'critical' WHEN severity_draw < 15 THEN 'high'
              WHEN severity_draw < 50 THEN 'medium' WHEN severity_draw < 85 THEN 'low' ELSE 'info' END,
         status,
         -- The old flat 14-day SLA on a quarter of the rows; a resolution date on most fixed/closed ones.
         CASE WHEN due_draw < 25 THEN created_at + interval '1209600 seconds' END,
         CASE WHEN resolved_draw < 60 AND status IN ('fixed', 'closed')
              THEN least($5::timestamptz, created_at + interval '1 second' * (3600 + resolved_after)) END,
         created_at, created_at
    FROM draws
   ORDER BY ordinal, n
  RETURNING id, tenant_id, fingerprint, created_at
), f0 AS (
  SELECT id, tenant_id, hour0, fk,
         ${pick(s, fk, 'step', 100)} AS step_draw,
         ${pick(s, fk, 'detections', 1000)} AS detections_draw,
         ${pick(s, fk, 'events', 100)} AS events_draw,
         floor(extract(epoch FROM $5::timestamptz - hour0) / 3600 / 13)::int AS max_step
    FROM (SELECT id, tenant_id, date_trunc('hour', created_at, 'UTC') AS hour0,
                 hashtextextended(fingerprint, ${s.findingKey}) AS fk
            FROM ins) AS x
), f AS (
  -- Detections and events sit on a grid of whole hours after created_at (step 1h, 6h, 1d or 1w,
  -- 12 slots), so they tie with each other; the grid stops before the base date.
  SELECT id, tenant_id, hour0, fk,
         least(CASE WHEN step_draw < 30 THEN 1 WHEN step_draw < 60 THEN 6 WHEN step_draw < 85 THEN 24 ELSE 168 END,
               max_step) AS step,
         -- 0..10 detections, skewed towards few: 30% none, 12% one, 5% ten; 3.2 on average.
         (detections_draw * detections_draw * 11 / 1000000)::int AS detections,
         CASE WHEN events_draw < 40 THEN 0 WHEN events_draw < 75 THEN 1 WHEN events_draw < 92 THEN 2 ELSE 3 END
           AS events
    FROM f0
), det AS (
  INSERT INTO finding_detections (finding_id, tenant_id, detected_at)
  SELECT f.id, f.tenant_id,
         f.hour0 + interval '1 hour' * (f.step * (1 + ${pick(s, det, 'detectionSlot', 12)}))
    FROM f CROSS JOIN LATERAL generate_series(1, f.detections) AS d(n)
   ORDER BY f.id, d.n
  RETURNING 1
), ev AS (
  INSERT INTO finding_events (finding_id, tenant_id, type, actor, occurred_at)
  SELECT f.id, f.tenant_id,
         CASE WHEN ${pick(s, ev, 'eventType', 100)} < 40 THEN 'triaged'
              WHEN ${pick(s, ev, 'eventType', 100)} < 82 THEN 'resolved'
              ELSE 'risk_accepted' END,
         -- One draw past the end of the list: a NULL actor, as some old imports left it.
         (${sqlArray(ACTORS)})[1 + ${pick(s, ev, 'actor', ACTORS.length + 1)}],
         f.hour0 + interval '1 hour' * (f.step * (1 + ${pick(s, ev, 'eventSlot', 12)}))
    FROM f CROSS JOIN LATERAL generate_series(1, f.events) AS e(n)
   ORDER BY f.id, e.n
  RETURNING 1
)
SELECT (SELECT count(*)::int FROM ins) AS findings, (SELECT count(*)::int FROM det) AS detections,
       (SELECT count(*)::int FROM ev) AS events`;
}

/** Customer workspaces and tenants `tenant-NNNNN`, numbered after the ones already present. */
function tenantsSql(seed: number): string {
  const s = hashSeeds(seed);
  const key = 'g.ordinal';
  return `
WITH g AS (
  SELECT ordinal,
         'tenant-' || lpad(ordinal::text, greatest(5, length(ordinal::text)), '0') AS external_id,
         (${sqlArray(TENANT_FIRST)})[1 + ${pick(s, key, 'tenantName', TENANT_FIRST.length)}]
           || ' ' || (${sqlArray(TENANT_SECOND)})[1 + ${pick(s, key, 'tenantKind', TENANT_SECOND.length)}] AS name,
         $3::timestamptz - interval '1 second' * (366 * 86400 + ${pick(s, key, 'tenantAge', 180 * 86400)})
           AS created_at
    FROM generate_series($1::bigint, $1::bigint + $2::bigint - 1) AS g(ordinal)
), ws AS (
  INSERT INTO workspaces (slug, name, created_at)
  SELECT lower(replace(name, ' ', '-')) || '-' || substr(external_id, 8), name, created_at FROM g ORDER BY ordinal
  RETURNING id, slug
)
INSERT INTO tenants (workspace_id, external_id, name, created_at)
SELECT ws.id, g.external_id, g.name, g.created_at
  FROM g JOIN ws ON ws.slug = lower(replace(g.name, ' ', '-')) || '-' || substr(g.external_id, 8)
 ORDER BY g.ordinal
RETURNING id, substr(external_id, 8)::int AS ordinal`;
}

/** A transaction with settings for bulk generation. */
function seedTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return inTransaction(pool, async (client) => {
    // Seed data can be regenerated: no need to wait for the WAL flush at each commit. JIT would
    // spend seconds compiling for the planner's (wildly high) row estimates of generate_series.
    await client.query(`SET LOCAL synchronous_commit = off; SET LOCAL jit = off;
                        SET LOCAL work_mem = '64MB'; SET LOCAL TimeZone = 'UTC'`);
    return work(client);
  });
}

interface Counts {
  findings: number;
  detections: number;
  events: number;
}

interface SeededTenant {
  id: number;
  /** Its number in `tenant-NNNNN` and in the random keys; 0 for the platform tenant. */
  ordinal: number;
}

/**
 * Inserts findings with their detections and events. With `bulk`, the statement runs with
 * `session_replication_role = replica`, as pg_restore --disable-triggers does: the per-row foreign
 * key triggers would otherwise take two thirds of the time, and the references are correct by
 * construction (the detections and events point at the rows the same statement returned).
 */
async function insertFindings(
  client: pg.PoolClient,
  sql: string,
  slices: { tenant: SeededTenant; fromFinding: number; toFinding: number }[],
  bulk: boolean,
): Promise<Counts> {
  if (bulk) await client.query('SET LOCAL session_replication_role = replica');
  const { rows } = await client.query<Counts>(sql, [
    slices.map((slice) => slice.tenant.id),
    slices.map((slice) => slice.tenant.ordinal),
    slices.map((slice) => slice.fromFinding),
    slices.map((slice) => slice.toFinding),
    SEED_BASE_DATE,
  ]);
  if (bulk) await client.query('SET LOCAL session_replication_role = origin');
  const counts = rows[0];
  if (!counts) throw new Error('seed: the findings insert returned no counts');
  return counts;
}

/** Whether this connection may skip triggers (superuser, or granted SET on the parameter). */
async function maySkipTriggers(client: pg.PoolClient): Promise<boolean> {
  await client.query('SAVEPOINT may_skip_triggers');
  try {
    await client.query('SET LOCAL session_replication_role = replica');
    await client.query('SET LOCAL session_replication_role = origin');
    await client.query('RELEASE SAVEPOINT may_skip_triggers');
    return true;
  } catch {
    await client.query('ROLLBACK TO SAVEPOINT may_skip_triggers');
    return false;
  }
}

// Concurrent seeds take turns per chunk, so tenant numbers never collide.
const LOCK = `SELECT pg_advisory_xact_lock(hashtext('platform-ops:seedDemoData'))`;

/** Creates `count` customer tenants numbered after the `tenant-NNNNN` already present. */
async function createTenants(client: pg.PoolClient, seed: number, count: number): Promise<SeededTenant[]> {
  if (count === 0) return [];
  await client.query(LOCK);
  const { rows } = await client.query<{ last: number }>(
    `SELECT coalesce(max(substring(external_id FROM '^tenant-([0-9]{1,9})$')::int), 0) AS last FROM tenants`,
  );
  const first = (rows[0]?.last ?? 0) + 1;
  const created = await client.query<SeededTenant>(tenantsSql(seed), [first, count, SEED_BASE_DATE]);
  return created.rows.sort((a, b) => a.ordinal - b.ordinal);
}

/** The platform workspace and tenant, created when missing. Returns the tenant id and whether it has findings. */
async function ensurePlatformTenant(client: pg.PoolClient): Promise<{ id: number; hasFindings: boolean }> {
  await client.query(LOCK);
  await client.query(
    `INSERT INTO workspaces (slug, name, created_at)
     SELECT 'platform', 'Platform', $1::timestamptz - interval '63072000 seconds'
      WHERE NOT EXISTS (SELECT 1 FROM workspaces WHERE slug = 'platform')`,
    [SEED_BASE_DATE],
  );
  await client.query(
    `INSERT INTO tenants (workspace_id, external_id, name, created_at)
     SELECT w.id, $2, 'Platform', $1::timestamptz - interval '63072000 seconds'
       FROM workspaces w
      WHERE w.slug = 'platform' AND NOT EXISTS (SELECT 1 FROM tenants WHERE external_id = $2)`,
    [SEED_BASE_DATE, PLATFORM_TENANT_EXTERNAL_ID],
  );
  const { rows } = await client.query<{ id: number; has_findings: boolean }>(
    `SELECT t.id, EXISTS (SELECT 1 FROM findings f WHERE f.tenant_id = t.id) AS has_findings
       FROM tenants t WHERE t.external_id = $1`,
    [PLATFORM_TENANT_EXTERNAL_ID],
  );
  const row = rows[0];
  if (!row) throw new Error('seed: the platform tenant is missing after creating it');
  return { id: row.id, hasFindings: row.has_findings };
}

/**
 * Rebuilds the lowest-id share of each given tenant's findings with the runbook's own SQL, then
 * dates those rewrites at the base date (the rebuild stamps `updated_at = now()`, which would make
 * the seed's output differ from run to run). Returns how many findings it rebuilt.
 */
async function rebuildFirstShare(client: pg.PoolClient, tenantIds: number[], perTenant: number): Promise<number> {
  const share = Math.round(perTenant * ALREADY_REBUILT_SHARE);
  if (share === 0 || tenantIds.length === 0) return 0;
  const { rows } = await client.query<{ tenant_id: number; from_id: number; to_id: number }>(
    `SELECT t.id AS tenant_id,
            (SELECT min(id) FROM findings WHERE tenant_id = t.id) AS from_id,
            (SELECT id FROM findings WHERE tenant_id = t.id ORDER BY id OFFSET $2 LIMIT 1) AS to_id
       FROM unnest($1::bigint[]) WITH ORDINALITY AS t(id, n)
      ORDER BY t.n`,
    [tenantIds, share - 1],
  );
  let rebuilt = 0;
  for (const row of rows) {
    const batch = { tenantId: row.tenant_id, fromId: row.from_id, toId: row.to_id };
    rebuilt += (await rebuildFindingsBatch(client, batch)).examined;
  }
  await client.query(
    `UPDATE findings f SET updated_at = $4::timestamptz
       FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS r(tenant_id, from_id, to_id)
      WHERE f.tenant_id = r.tenant_id AND f.id BETWEEN r.from_id AND r.to_id`,
    [rows.map((row) => row.tenant_id), rows.map((row) => row.from_id), rows.map((row) => row.to_id), SEED_BASE_DATE],
  );
  return rebuilt;
}

const ANALYZE = 'ANALYZE workspaces, tenants, findings, finding_detections, finding_events';

function assertSeedOptions(options: Pick<SeedOptions, 'tenants' | 'findingsPerTenant' | 'seed'>): void {
  const { tenants, findingsPerTenant, seed } = options;
  if (!Number.isSafeInteger(tenants) || tenants < 1 || tenants > SEED_LIMITS.maxTenants) {
    throw new RangeError(`tenants must be a whole number from 1 to ${SEED_LIMITS.maxTenants}, got ${tenants}`);
  }
  if (
    !Number.isSafeInteger(findingsPerTenant) ||
    findingsPerTenant < 0 ||
    findingsPerTenant > SEED_LIMITS.maxFindingsPerTenant
  ) {
    throw new RangeError(
      `findingsPerTenant must be a whole number from 0 to ${SEED_LIMITS.maxFindingsPerTenant}, got ${findingsPerTenant}`,
    );
  }
  if (tenants * findingsPerTenant > SEED_LIMITS.maxTotalFindings) {
    throw new RangeError(
      `tenants × findingsPerTenant must be at most ${SEED_LIMITS.maxTotalFindings}, got ${tenants * findingsPerTenant}`,
    );
  }
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a whole number ≥ 0, got ${seed}`);
}

function externalId(ordinal: number): string {
  return `tenant-${String(ordinal).padStart(5, '0')}`;
}

/**
 * Writes the platform tenant (when missing, with PLATFORM_FINDINGS findings) and `tenants` new
 * customer tenants with `findingsPerTenant` legacy findings each. One transaction per chunk: a
 * failure leaves the chunks before it, never a chunk in part.
 */
export async function seedDemoData(pool: pg.Pool, options: SeedOptions): Promise<SeedResult> {
  assertSeedOptions(options);
  const started = performance.now();
  const { tenants, findingsPerTenant, seed, onProgress } = options;
  const findingsSql = findingsChunkSql(seed);

  const { bulk, platformFindings } = await seedTransaction(pool, async (client) => {
    const bulk = await maySkipTriggers(client);
    const platform = await ensurePlatformTenant(client);
    if (platform.hasFindings) return { bulk, platformFindings: 0 };
    const tenant = { id: platform.id, ordinal: 0 };
    const slices = [{ tenant, fromFinding: 1, toFinding: PLATFORM_FINDINGS }];
    return { bulk, platformFindings: (await insertFindings(client, findingsSql, slices, bulk)).findings };
  });

  const created: SeededTenant[] = [];
  const totals = { findings: 0, detections: 0, events: 0, alreadyRebuilt: 0, tenantsDone: 0 };
  const report = () =>
    onProgress?.({
      tenantsDone: totals.tenantsDone,
      tenantsTotal: tenants,
      findingsDone: totals.findings,
      findingsTotal: tenants * findingsPerTenant,
    });
  report();
  let analyzedAt = 0;
  for (const chunk of planChunks(tenants, findingsPerTenant)) {
    const counts = await seedTransaction(pool, async (client) => {
      created.push(...(await createTenants(client, seed, chunk.created.length)));
      const slices = chunk.slices
        .filter((slice) => slice.toFinding >= slice.fromFinding)
        .map((slice) => ({ ...slice, tenant: created[slice.tenant] as SeededTenant }));
      const none = { findings: 0, detections: 0, events: 0 };
      const counts = slices.length > 0 ? await insertFindings(client, findingsSql, slices, bulk) : none;
      // Fresh tables have no statistics, and the rebuild's plans (like any query's) go badly wrong
      // without them: analyze at the first chunk and whenever the seeded rows have doubled since.
      if (totals.findings + counts.findings >= 2 * analyzedAt && counts.findings > 0) {
        await client.query(ANALYZE);
        analyzedAt = totals.findings + counts.findings;
      }
      const completed = chunk.completed.map((tenant) => (created[tenant] as SeededTenant).id);
      return { ...counts, rebuilt: await rebuildFirstShare(client, completed, findingsPerTenant) };
    });
    totals.findings += counts.findings;
    totals.detections += counts.detections;
    totals.events += counts.events;
    totals.alreadyRebuilt += counts.rebuilt;
    totals.tenantsDone += chunk.completed.length;
    report();
  }

  await pool.query(ANALYZE);
  const first = created[0];
  const last = created[created.length - 1];
  return {
    tenants: created.length,
    findings: totals.findings,
    detections: totals.detections,
    events: totals.events,
    alreadyRebuilt: totals.alreadyRebuilt,
    externalIds: first && last ? { first: externalId(first.ordinal), last: externalId(last.ordinal) } : null,
    platformFindings,
    ms: Math.round(performance.now() - started),
  };
}
