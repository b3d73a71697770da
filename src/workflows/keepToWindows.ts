import { condition, sleep } from '@temporalio/workflow';
import type { runbookActivities } from './activities.js';
import { WINDOW_PAUSER } from './queries.js';

type Bookkeeping = ReturnType<typeof runbookActivities>['bookkeeping'];

/** The patch that brought change windows: a workflow begun before it replays without them. */
export const CHANGE_WINDOWS_PATCH = 'change-windows';

/**
 * How often a run looks at the change windows again while nothing it knows of would change
 * them: an operator may define or delete a window meanwhile. A durable timer, so a worker
 * restart changes nothing.
 */
const RECHECK_MS = 60_000;

/** How long to wait for an instant (epoch ms; null: none known), at most until the next look. */
const waitFor = (at: number | null) => (at === null ? RECHECK_MS : Math.min(Math.max(at - Date.now(), 0), RECHECK_MS));

/**
 * Before a run begins: while its runbook's windows keep tenants from starting, the run stays
 * queued, recorded as waiting for the next opening, asleep on a durable timer (cancelling the
 * workflow ends the wait, and the run with it).
 */
export async function waitForWindow(bookkeeping: Bookkeeping, runId: string): Promise<void> {
  let waited = false;
  for (;;) {
    const state = await bookkeeping.windowState(runId);
    if (state.open) break;
    if (!waited) await bookkeeping.waitForWindow(runId, { opensAt: state.opensAt });
    waited = true;
    await sleep(waitFor(state.opensAt));
  }
  if (waited) await bookkeeping.windowOpened(runId);
}

/** What keeping to the windows needs of a running run's workflow. */
export interface WindowHooks {
  bookkeeping: Bookkeeping;
  runId: string;
  /** The run's work is over: stop watching. */
  done: () => boolean;
  paused: () => boolean;
  /** Paused by a window's cutoff (by WINDOW_PAUSER, and not resumed since): carried over a continue-as-new with the pause. */
  heldByWindow: () => boolean;
  /** Stops starting tenants, as WINDOW_PAUSER; tenants in flight finish their current batch. */
  pause: () => Promise<void>;
  resume: () => Promise<void>;
}

/**
 * While a run works: at its window's cutoff it pauses itself ("change window closed") and goes on
 * by itself when the next window opens. An operator's own pause is left alone. An operator who
 * resumes it by hand (an override, audited by the engine) lets it work on until the window it
 * waited for would have opened; from then on it keeps to the windows again.
 */
export async function keepToWindows(hooks: WindowHooks): Promise<void> {
  let wasHeld = hooks.heldByWindow();
  let overrideUntil = 0;
  while (!hooks.done()) {
    const state = await hooks.bookkeeping.windowState(hooks.runId);
    if (state.open || Date.now() < overrideUntil) {
      if (hooks.heldByWindow()) await hooks.resume();
      wasHeld = false;
      await condition(hooks.done, waitFor(state.open ? state.until : overrideUntil));
      continue;
    }
    if (wasHeld && !hooks.heldByWindow()) {
      wasHeld = false;
      overrideUntil = state.opensAt ?? Number.MAX_SAFE_INTEGER;
      continue;
    }
    if (!hooks.paused()) {
      await hooks.pause();
      await hooks.bookkeeping.waitForWindow(hooks.runId, { opensAt: state.opensAt, by: WINDOW_PAUSER });
    }
    // Held (by the window, or by an operator's pause, which the opening leaves alone): look again
    // when the window opens, or at once when an operator resumes it.
    wasHeld = hooks.heldByWindow();
    await condition(() => hooks.done() || (wasHeld && !hooks.heldByWindow()), waitFor(state.opensAt));
  }
}
