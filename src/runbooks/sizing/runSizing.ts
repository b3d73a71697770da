import type { RunbookDefinition } from '../definition.js';
import { formatGateDuration } from '../health/gateSettings.js';
import type { RunTuning } from '../model.js';
import { RunbookRefusal, type RefusalCode } from '../refusal.js';
import { BATCH_TARGET_LIMITS, type BatchSizeChoice } from './batchSizeText.js';
import { DEFAULT_BATCH_BOUNDS, DEFAULT_BATCH_TARGET_MS, type SizeBounds } from './batchSizer.js';

/** How a run sizes its batches: a fixed size, or a starting size and a target duration. */
export type RunSizing = Pick<RunTuning, 'batchSize' | 'batchTargetMs'>;

/** What an operator asks of a run's batch size at its start or in a tune; all optional. */
export interface SizingRequest {
  batchSize?: BatchSizeChoice;
  /** A target duration: implies auto. */
  batchTargetMs?: number;
}

/** The sizes a runbook's batches stay within: its own limits, within the engine's. */
export function sizeBounds(runbook: Pick<RunbookDefinition, 'batchBounds'>): SizeBounds {
  return {
    min: Math.max(DEFAULT_BATCH_BOUNDS.min, runbook.batchBounds?.min ?? DEFAULT_BATCH_BOUNDS.min),
    max: Math.min(DEFAULT_BATCH_BOUNDS.max, runbook.batchBounds?.max ?? DEFAULT_BATCH_BOUNDS.max),
  };
}

function refuse(code: RefusalCode, message: string): never {
  throw new RunbookRefusal(code, message);
}

/** Refuses a request the runbook cannot take: rows outside its bounds, a target out of range, or both at once. */
export function checkSizingRequest(
  request: SizingRequest,
  runbook: Pick<RunbookDefinition, 'id' | 'batchBounds'>,
  code: RefusalCode,
): void {
  const { batchSize, batchTargetMs } = request;
  if (batchSize && 'rows' in batchSize) {
    if (batchTargetMs !== undefined) refuse(code, 'A fixed batch size has no target duration; give one or the other.');
    const { min, max } = sizeBounds(runbook);
    if (!Number.isInteger(batchSize.rows) || batchSize.rows < min || batchSize.rows > max) {
      refuse(
        code,
        `The batch size of ${runbook.id} must be auto or a whole number from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')} rows; got ${batchSize.rows}.`,
      );
    }
  }
  const { minMs, maxMs } = BATCH_TARGET_LIMITS;
  if (batchTargetMs !== undefined && !(batchTargetMs >= minMs && batchTargetMs <= maxMs)) {
    refuse(
      code,
      `A target batch duration must be from ${formatGateDuration(minMs)} to ${formatGateDuration(maxMs)}; got ${batchTargetMs} ms.`,
    );
  }
}

/**
 * The sizing a (checked) request makes of the one a run has (at a start: the deployment's). Rows
 * fix the size; `auto` or a target sizes batches by themselves, from the size they have.
 */
export function applySizing(current: RunSizing, { batchSize, batchTargetMs }: SizingRequest): RunSizing {
  if (batchSize && 'rows' in batchSize) return { batchSize: batchSize.rows };
  const target =
    batchSize || batchTargetMs !== undefined
      ? (batchTargetMs ?? current.batchTargetMs ?? DEFAULT_BATCH_TARGET_MS)
      : current.batchTargetMs;
  return target === undefined
    ? { batchSize: current.batchSize }
    : { batchSize: current.batchSize, batchTargetMs: target };
}
