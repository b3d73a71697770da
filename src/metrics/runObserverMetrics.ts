import { Counter, Histogram, type Registry } from '@prometheus-io/client';
import { GATE_NAMES, type RunObserver } from '../runbooks/runObserver.js';

/** From 10 ms to a minute: an automatically sized batch aims at about a second. */
const BATCH_SECONDS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];

/**
 * The runbook metrics only a worker sees, as its batches happen (docs/operations.md): how long a
 * batch's statements take, and the seconds its tenants wait for each health gate. Labels are a
 * runbook's id and a gate's name, both from short fixed lists.
 */
export function observeRuns(registry: Registry): RunObserver {
  const batches = new Histogram({
    name: 'runbook_batch_duration_seconds',
    help: "Duration of a batch's statements, by runbook",
    labelNames: ['runbook'],
    buckets: BATCH_SECONDS,
    registers: [registry],
  });
  const held = new Counter({
    name: 'runbook_held_seconds_total',
    help: 'Seconds tenants waited for the health gates, by runbook and gate (a tenant held by two gates counts for each)',
    labelNames: ['runbook', 'gate'],
    registers: [registry],
  });
  // Every gate of a runbook from its first batch on, at 0: a counter that appears only with its
  // first hold would hide that hold from rate() and increase().
  const seen = new Set<string>();
  const see = (runbook: string) => {
    if (seen.has(runbook)) return;
    seen.add(runbook);
    for (const gate of GATE_NAMES) held.inc({ runbook, gate }, 0);
  };
  return {
    batchDone: ({ runbook, ms }) => {
      see(runbook);
      batches.observe({ runbook }, ms / 1000);
    },
    held: ({ runbook, gates, ms }) => {
      see(runbook);
      for (const gate of gates) held.inc({ runbook, gate }, ms / 1000);
    },
  };
}
