import type pg from 'pg';
import { afterAll, beforeAll, expect } from 'vitest';
import { parseInstant } from '../../src/catalog/findings-lifecycle/instants.js';
import type { FindingHistory, Lifecycle } from '../../src/catalog/findings-lifecycle/rules.js';
import { createTestDatabase, type TestDatabase } from './testDatabase.js';

const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * The generated histories with the event ids the database assigned (and any events written
 * since, such as resolutions), for the pure functions to judge what the SQL saw.
 */
export async function withDatabaseEventIds(
  client: pg.ClientBase,
  tenantId: number,
  findings: FindingHistory[],
  ids: number[],
): Promise<FindingHistory[]> {
  const { rows } = await client.query(
    `SELECT id, finding_id, type, ${iso('occurred_at')} AS occurred_at FROM finding_events WHERE tenant_id = $1`,
    [tenantId],
  );
  const eventsByFinding = new Map<number, FindingHistory['events'][number][]>();
  for (const row of rows) {
    const list = eventsByFinding.get(Number(row.finding_id)) ?? [];
    list.push({ id: Number(row.id), type: row.type, occurred_at: parseInstant(row.occurred_at) });
    eventsByFinding.set(Number(row.finding_id), list);
  }
  return findings.map((history, index) => {
    const events = eventsByFinding.get(ids[index]!) ?? [];
    expect(events.length).toBeGreaterThanOrEqual(history.events.length);
    return { ...history, events };
  });
}

/** Each finding's stored lifecycle by id, instants as `YYYY-MM-DDTHH:MM:SS.ffffffZ`. */
export async function storedLifecycles(
  client: pg.ClientBase,
  tenantId: number,
): Promise<Map<number, Lifecycle<string>>> {
  const at = (column: string) => `${iso(column)} AS ${column}`;
  const { rows } = await client.query(
    `SELECT id, status, ${at('first_seen_at')}, ${at('last_seen_at')}, times_seen, ${at('due_at')}, ${at('resolved_at')},
            ${at('reopened_at')}, lifecycle_version
       FROM findings WHERE tenant_id = $1`,
    [tenantId],
  );
  return new Map(rows.map(({ id, ...lifecycle }) => [Number(id), lifecycle as Lifecycle<string>]));
}

/** Id ranges of about `size` findings each, covering every id: a tenant's batches. */
export function idRanges(ids: number[], size: number): Array<{ fromId: number; toId: number }> {
  const sorted = [...ids].sort((a, b) => a - b);
  const ranges = [];
  for (let start = 0; start < sorted.length; start += size) {
    ranges.push({ fromId: sorted[start]!, toId: sorted[Math.min(start + size, sorted.length) - 1]! });
  }
  return ranges;
}

/**
 * A property test's database, for the file: one connection whose session is in a DST zone (a
 * day in the rules' SQL must stay 24 hours) and a workspace for its tenants. `client` and
 * `workspaceId` are there from `beforeAll` on.
 */
export function usePropertyDatabase(): { client: pg.PoolClient; workspaceId: number } {
  const handle = {} as { client: pg.PoolClient; workspaceId: number };
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    handle.client = await database.pool.connect();
    await handle.client.query(`SET TIME ZONE 'America/New_York'`);
    const workspace = await handle.client.query(`INSERT INTO workspaces (slug, name) VALUES ('p', 'P') RETURNING id`);
    handle.workspaceId = Number(workspace.rows[0].id);
  });
  afterAll(async () => {
    handle.client?.release();
    await database?.destroy();
  });
  return handle;
}

/**
 * fast-check options for a property over the database: no shrinking (it would take minutes,
 * and the assertion names the row), and a failure that names the seed and path that replay it.
 */
export const REPLAYABLE = {
  endOnFailure: true,
  reporter: (details: { failed: boolean; seed: number; counterexamplePath: string | null; errorInstance: unknown }) => {
    if (!details.failed) return;
    throw new Error(`Property failed; replay with { seed: ${details.seed}, path: "${details.counterexamplePath}" }`, {
      cause: details.errorInstance,
    });
  },
};
