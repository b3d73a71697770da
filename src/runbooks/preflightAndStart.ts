import { runPreflight, type SavedPreflight } from './preflight.js';
import { getRunbook, runbooksWriting } from './registry.js';
import { findActiveRuns, type RunRecord } from './runs.js';
import { precheckStart, startRunbook, type StartDeps, type StartOutcome } from './start.js';
import type { StartRequest } from './validateStart.js';

/** A start made in one go: the run (or change request), and the fresh preflight it was made against (none for a replay or a named one). */
type OneGoStart = StartOutcome & { preflight: SavedPreflight | null };

interface OneGoOptions {
  /** Called with the fresh preflight, before the start (the CLI prints it). */
  onPreflight?: (preflight: SavedPreflight) => void;
  /** Called after the checks and the preflight, before anything is written (the CLI reaches Temporal). */
  beforeStart?: () => Promise<unknown>;
}

/**
 * A start in one go, for the surfaces that do not show the preflight for a person to confirm
 * first (the CLI, the customer trigger, the deploy hook): a bad request is refused, and a
 * replay found, before a preflight is spent (`precheckStart`); then a fresh preflight unless the
 * request names one, and the one starter. With `whenHeld: 'report'` an active run that writes
 * the same data is returned instead of refused (and audited), for a caller that waits for it.
 */
export async function preflightAndStart(
  deps: StartDeps,
  request: StartRequest,
  options?: OneGoOptions & { whenHeld?: 'refuse' },
): Promise<OneGoStart>;
export async function preflightAndStart(
  deps: StartDeps,
  request: StartRequest,
  options: OneGoOptions & { whenHeld: 'report' },
): Promise<OneGoStart | { heldBy: RunRecord }>;
export async function preflightAndStart(
  deps: StartDeps,
  request: StartRequest,
  options: OneGoOptions & { whenHeld?: 'refuse' | 'report' } = {},
): Promise<OneGoStart | { heldBy: RunRecord }> {
  const report = options.whenHeld === 'report';
  const replay = await precheckStart(deps, request, { overlap: !report });
  let preflight: SavedPreflight | null = null;
  if (!replay && !request.preflightId) {
    const runbook = getRunbook(request.runbook);
    if (report) {
      const [holder] = await findActiveRuns(deps.pool, runbooksWriting(runbook));
      if (holder) return { heldBy: holder };
    }
    preflight = await runPreflight(deps.pool, {
      runbook,
      scope: request.scope,
      parameters: request.parameters,
      initiator: request.initiator,
      context: request.context,
    });
    options.onPreflight?.(preflight);
  }
  await options.beforeStart?.();
  const started = await startRunbook(deps, { ...request, preflightId: request.preflightId ?? preflight?.id ?? null });
  return { ...started, preflight };
}
