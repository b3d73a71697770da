import { condition, defineSignal, setHandler } from '@temporalio/workflow';
import { runbookActivities } from './activities.js';
import type { RunSettings } from '../config.js';

export interface ChangeTimerInput {
  changeRequestId: string;
  /** The request's deadline, epoch milliseconds. */
  expiresAt: number;
  settings: RunSettings;
}

/** A decision (approve, reject, withdraw, void) ends the timer early: there is nothing left to expire. */
export const changeDecidedSignal = defineSignal('changeDecided');

/**
 * Expires a change request at its deadline: a durable timer, not a poll, so a request expires on
 * time through worker restarts. The activity expires it only if it is still open.
 */
export async function changeTimerWorkflow(input: ChangeTimerInput): Promise<void> {
  let decided = false;
  setHandler(changeDecidedSignal, () => {
    decided = true;
  });
  const { bookkeeping } = runbookActivities(input.settings);
  if (await condition(() => decided, Math.max(0, input.expiresAt - Date.now()))) return;
  await bookkeeping.expireChangeRequest(input.changeRequestId);
}
