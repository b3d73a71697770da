import { collectDefaultMetrics, Registry } from '@prometheus-io/client';

/**
 * A registry of this process's own, never the client's global one: the tests build consoles and
 * workers side by side in one process, each with its metrics. It starts with the client's
 * process metrics (CPU, memory, event-loop lag, GC), which carry no labels of ours.
 */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
