import { ApplicationFailure, defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { GateSettings } from '../runbooks/health/gateSettings.js';
import type { RunSettings } from '../config.js';
import type { PreflightSummary, RunTuning, TuneRequest, TuneResult } from '../runbooks/model.js';

/** The preflight the run was confirmed against. */
export const preflightQuery = defineQuery<PreflightSummary | null>('preflight');

/** Who asks, for the run's own record of who paused it. */
export interface ControlSignal {
  by: string;
}

export const pauseSignal = defineSignal<[ControlSignal]>('pause');
/** Who a run's own pause (canary, error budget, a critical health threshold) is recorded as. */
export const PAUSED_BY_ITSELF = 'the run itself';
/** Who a run's pause at its change window's cutoff is recorded as. */
export const WINDOW_PAUSER = 'the change window';
export const resumeSignal = defineSignal<[ControlSignal]>('resume');

/** Limits of live tuning: wide enough for any real run, narrow enough to stay safe. */
export const TUNING_LIMITS = { parallelism: { min: 1, max: 64 }, batchSize: { min: 50, max: 50_000 } } as const;

/** What a tune reports of a run's settings: a target only while it sizes its batches itself. */
export function tuningOf(parallelism: number, settings: RunSettings): RunTuning {
  return {
    parallelism,
    batchSize: settings.batchSize,
    ...(settings.batchTargetMs === undefined ? {} : { batchTargetMs: settings.batchTargetMs }),
    gates: settings.gates,
  };
}

/** Changes a running run's parallelism and batch size; new children and batches use them. */
export const tuneUpdate = defineUpdate<TuneResult, [TuneRequest]>('tune');
/** A fan-out passes a new batch size on to its running children. */
export const batchSizeSignal = defineSignal<[number]>('batchSize');
/** A fan-out passes a new target batch duration (null: a fixed size from now on) on to its running children. */
export const batchTargetSignal = defineSignal<[number | null]>('batchTarget');
/** A fan-out passes tuned health-gate thresholds on to its running children. */
export const gatesSignal = defineSignal<[GateSettings]>('gates');
/** A child tells its fan-out that a critical threshold is crossed (which): the run pauses for an operator. */
export const criticalSignal = defineSignal<[string]>('healthCritical');

function inRange(name: string, value: number | undefined, limits: { min: number; max: number }): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < limits.min || value > limits.max) {
    throw ApplicationFailure.nonRetryable(
      `${name} must be a whole number from ${limits.min.toLocaleString('en-US')} to ${limits.max.toLocaleString('en-US')}; got ${value}.`,
      'InvalidTuning',
    );
  }
}

/** The update's validator: a refused change never reaches the workflow's history. */
export function validateTuning(request: TuneRequest, options: { parallelismAllowed: boolean }): void {
  if (
    request.parallelism === undefined &&
    request.batchSize === undefined &&
    request.batchTargetMs === undefined &&
    request.gates === undefined
  ) {
    throw ApplicationFailure.nonRetryable(
      'Give a parallelism, a batch size or a health-gate threshold to change.',
      'InvalidTuning',
    );
  }
  if (request.parallelism !== undefined && !options.parallelismAllowed) {
    throw ApplicationFailure.nonRetryable(
      'A one-tenant run has no parallelism to tune; change its batch size.',
      'InvalidTuning',
    );
  }
  inRange('The parallelism', request.parallelism, TUNING_LIMITS.parallelism);
  inRange('The batch size', request.batchSize, TUNING_LIMITS.batchSize);
}
