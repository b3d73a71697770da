import type pg from 'pg';
import { inTransaction } from '../../db/transaction.js';
import { readCustomGate, readHealthSnapshot, type HealthSnapshot, type MeasuredGate } from './healthSnapshot.js';

/** How old a snapshot may be: every batch consults one, but a worker reads at most one per this. */
const SNAPSHOT_MAX_AGE_MS = 2_000;
/** The custom gate's query may take this long before its measure counts as unavailable. */
const CUSTOM_QUERY_TIMEOUT_MS = 1_000;

export interface HealthMonitorOptions {
  /** The operator's query for the custom gate (`HEALTH_CUSTOM_QUERY`), if any. */
  customQuery?: string | null;
  /** Told once per gate whose measure is missing, and why: the run goes on without that gate. */
  onUnavailable?: (gate: MeasuredGate | 'all', why: string) => void;
  maxAgeMs?: number;
}

/**
 * A worker's view of the database's health: one snapshot per set of watched tables, read at most
 * every two seconds however many batches ask, and shared by the batches that ask meanwhile.
 */
export class HealthMonitor {
  private readonly snapshots = new Map<string, { at: number; snapshot: Promise<HealthSnapshot | null> }>();
  private readonly told = new Set<string>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: HealthMonitorOptions = {},
  ) {}

  /**
   * The latest snapshot for a runbook writing `tables`; null when none could be read (the gates
   * then stand aside). `fresh`: one read now, for a verdict that stops a run for an operator.
   */
  snapshot(tables: readonly string[], options: { fresh?: boolean } = {}): Promise<HealthSnapshot | null> {
    const key = [...tables].sort().join(',');
    const cached = this.snapshots.get(key);
    const now = Date.now();
    if (cached && !options.fresh && now - cached.at < (this.options.maxAgeMs ?? SNAPSHOT_MAX_AGE_MS)) {
      return cached.snapshot;
    }
    const snapshot = this.read(tables);
    this.snapshots.set(key, { at: now, snapshot });
    return snapshot;
  }

  private async read(tables: readonly string[]): Promise<HealthSnapshot | null> {
    let builtIn: Omit<HealthSnapshot, 'custom'>;
    try {
      builtIn = await readHealthSnapshot(this.pool, tables);
    } catch (error) {
      this.tell('all', (error as Error).message);
      return null;
    }
    const snapshot: HealthSnapshot = { ...builtIn, custom: null };
    const query = this.options.customQuery;
    if (query) {
      try {
        snapshot.custom = await inTransaction(this.pool, async (client) => {
          await client.query('SET TRANSACTION READ ONLY');
          await client.query(`SET LOCAL statement_timeout = ${CUSTOM_QUERY_TIMEOUT_MS}`);
          return readCustomGate(client, query);
        });
      } catch (error) {
        snapshot.unavailable = { ...snapshot.unavailable, custom: (error as Error).message };
      }
    }
    for (const [gate, why] of Object.entries(snapshot.unavailable)) this.tell(gate as MeasuredGate, why);
    return snapshot;
  }

  private tell(gate: MeasuredGate | 'all', why: string): void {
    if (this.told.has(gate)) return;
    this.told.add(gate);
    this.options.onUnavailable?.(gate, why);
  }
}
