import { formatGateDuration, type GateLimits, type GateSettings } from './gateSettings.js';
import type { HealthSnapshot } from './healthSnapshot.js';
import type { GateName } from '../runObserver.js';

/** What the gates say of a batch about to start: go, hold (it goes on by itself), or critical (pause), and which said it. */
export type HealthVerdict =
  { level: 'clear' } | { level: 'hold' | 'critical'; reason: string; gates: readonly GateName[] };

type Over = { gate: GateName; text: string };

const CLEAR: HealthVerdict = { level: 'clear' };

const seconds = (ms: number) => `${(Math.round(ms / 100) / 10).toFixed(1)} s`;

/** Each measured gate over a level's limits, as a person reads it ("replica lag 12.4 s > 5 s"). */
function overLimits(snapshot: HealthSnapshot, limits: GateLimits): Over[] {
  const over: Over[] = [];
  const { replicaLagMs, oldestTransaction, connections, custom, unavailable } = snapshot;
  if (!unavailable.replicaLag && replicaLagMs !== null && replicaLagMs > limits.replicaLagMs) {
    over.push({
      gate: 'replica_lag',
      text: `replica lag ${seconds(replicaLagMs)} > ${formatGateDuration(limits.replicaLagMs)}`,
    });
  }
  if (oldestTransaction && oldestTransaction.ageMs > limits.transactionAgeMs) {
    over.push({
      gate: 'transaction_age',
      text:
        `transaction of pid ${oldestTransaction.pid} open for ${formatGateDuration(oldestTransaction.ageMs, { decimals: 1 })} > ` +
        formatGateDuration(limits.transactionAgeMs),
    });
  }
  const percent = (100 * connections.used) / connections.max;
  if (percent > limits.connectionsPercent) {
    over.push({
      gate: 'connections',
      text: `connections ${connections.used} of ${connections.max} (${Math.round(percent)} %) > ${limits.connectionsPercent} %`,
    });
  }
  if (limits.custom !== null && custom !== null && custom > limits.custom) {
    over.push({ gate: 'custom', text: `custom gate ${custom} > ${limits.custom}` });
  }
  return over;
}

const verdict = (level: 'hold' | 'critical', over: Over[], suffix = ''): HealthVerdict => ({
  level,
  reason: `${over.map(({ text }) => text).join('; ')}${suffix}`,
  gates: over.map(({ gate }) => gate),
});

/**
 * The verdict of the gates on a snapshot: critical limits first (they pause the run), then the
 * hold limits, autovacuum and lock waits on the runbook's tables (they hold it). Replica lag that
 * cannot be read says nothing either way; the oldest transaction is judged among the sessions
 * this role can see (those it cannot are said once to be hidden).
 */
export function judgeHealth(snapshot: HealthSnapshot, gates: GateSettings): HealthVerdict {
  if (!gates.enabled) return CLEAR;
  const critical = overLimits(snapshot, gates.critical);
  if (critical.length > 0) return verdict('critical', critical, ' (critical)');
  const hold = overLimits(snapshot, gates.hold);
  if (snapshot.vacuuming.length > 0)
    hold.push({ gate: 'vacuum', text: `vacuum running on ${snapshot.vacuuming.join(', ')}` });
  const waits = snapshot.lockWaits;
  if (waits) {
    const by = waits.blockedBy === null ? '' : ` (blocked by pid ${waits.blockedBy})`;
    hold.push({ gate: 'lock_wait', text: `${waits.waiting} session(s) waiting for locks on ${waits.table}${by}` });
  }
  return hold.length > 0 ? verdict('hold', hold) : CLEAR;
}
