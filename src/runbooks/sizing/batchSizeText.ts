import { count } from '../../format.js';
import { parseDuration } from '../durationText.js';
import { formatGateDuration } from '../health/gateSettings.js';
import type { RunTuning } from '../model.js';

/** How an operator asks a run to size its batches: by itself (`auto`), or a number of rows. */
export type BatchSizeChoice = { auto: true } | { rows: number };

/** The range of target durations: short enough to keep locks brief, long enough to be measured. */
export const BATCH_TARGET_LIMITS = { minMs: 100, maxMs: 60_000 } as const;

/** "auto" or a whole number of rows (its range is the runbook's, checked where it applies), or what is wrong. */
export function parseBatchSize(text: string): BatchSizeChoice | string {
  const trimmed = text.trim();
  if (trimmed.toLowerCase() === 'auto') return { auto: true };
  if (/^\d+$/.test(trimmed)) return { rows: Number(trimmed) };
  return `"${trimmed.slice(0, 100)}" is not a batch size (write auto, or a whole number of rows)`;
}

/** A target batch duration ("1s", "500ms"), or what is wrong with it. */
export function parseBatchTarget(text: string): number | string {
  const value = parseDuration(text);
  if (typeof value === 'string') return value;
  const { minMs, maxMs } = BATCH_TARGET_LIMITS;
  return value >= minMs && value <= maxMs
    ? value
    : `a target batch duration must be from ${formatGateDuration(minMs)} to ${formatGateDuration(maxMs)}; got ${formatGateDuration(value)}`;
}

type Sizing = Pick<Partial<RunTuning>, 'batchSize' | 'batchTargetMs'>;

/** "batches sized to take 1 s (now 2,400 rows)", or "batches of 2,000 rows". */
export function batchSizeText(settings: Sizing, sizeNow?: number): string | null {
  if (settings.batchTargetMs !== undefined) {
    const now = sizeNow === undefined ? '' : ` (now ${count(sizeNow)} rows)`;
    return `batches sized to take ${formatGateDuration(settings.batchTargetMs)}${now}`;
  }
  return settings.batchSize === undefined ? null : `batches of ${count(settings.batchSize)} rows`;
}

/** "2,000 rows", or "auto (1 s a batch)". */
export const batchSizeName = (settings: Sizing) =>
  settings.batchTargetMs === undefined
    ? `${count(settings.batchSize)} rows`
    : `auto (${formatGateDuration(settings.batchTargetMs)} a batch)`;

/** A tune's change of batch size, "batch size 2,000 rows → auto (1 s a batch)", or null when it kept it. */
export function batchSizeChange(from: Sizing, to: Sizing): string | null {
  const before = batchSizeName(from);
  const after = batchSizeName(to);
  return before === after ? null : `batch size ${before} → ${after}`;
}
