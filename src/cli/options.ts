import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../runbooks/durationText.js';
import { parseBatchSize, parseBatchTarget, type BatchSizeChoice } from '../runbooks/sizing/batchSizeText.js';

/** A commander option parser for a whole number in [min, max]; errors list the allowed range. */
export function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    }
    return value;
  };
}

/** `--batch-size`: `auto`, or a whole number of rows (whose range the runbook checks). */
export function batchSizeOption(raw: string): BatchSizeChoice {
  const choice = parseBatchSize(raw);
  if (typeof choice === 'string') throw new InvalidArgumentError(`${choice}.`);
  return choice;
}

/** `--batch-target`: the duration a batch that sizes itself aims at. */
export function batchTargetOption(raw: string): number {
  const target = parseBatchTarget(raw);
  if (typeof target === 'string') throw new InvalidArgumentError(`${target}.`);
  return target;
}

/**
 * `--duration` and `--cutoff` of a change window: whole minutes, written as a bare number of
 * minutes or with a unit (90m, 4h, 1d). `parseDuration` reads a bare number as seconds, as a lag
 * is said; a window is said in minutes, so a bare number gets its unit here first.
 */
export function minutesOption(raw: string): number {
  const text = raw.trim();
  const ms = parseDuration(/^\d+(\.\d+)?$/.test(text) ? `${text}m` : text);
  if (typeof ms === 'string' || ms < 0 || ms % 60_000 !== 0) {
    throw new InvalidArgumentError('expected whole minutes: a number of minutes (90), or 90m, 4h, 1d.');
  }
  return ms / 60_000;
}
