import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { PreflightSummary } from './inputs.js';

/** The preflight the run was confirmed against. */
export const preflightQuery = defineQuery<PreflightSummary | null>('preflight');

/** Who asks, for the run's own record of who paused it. */
export interface ControlSignal {
  by: string;
}

export const pauseSignal = defineSignal<[ControlSignal]>('pause');
export const resumeSignal = defineSignal<[ControlSignal]>('resume');
