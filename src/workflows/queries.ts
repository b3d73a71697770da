import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { PreflightSummary } from './inputs.js';

/** The preflight the run was confirmed against. */
export const preflightQuery = defineQuery<PreflightSummary | null>('preflight');

export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
