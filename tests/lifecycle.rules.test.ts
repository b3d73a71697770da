import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatInstant, MICROS_PER_DAY, parseInstant } from '../src/catalog/findings-lifecycle/instants.js';
import {
  mapLifecycleInstants,
  rebuildLifecycle,
  type FindingHistory,
} from '../src/catalog/findings-lifecycle/rules.js';
import vectors from './fixtures/findings-lifecycle-vectors.json' with { type: 'json' };

type Vector = (typeof vectors.cases)[number];

function historyOf(vector: Vector): FindingHistory {
  return {
    severity: vector.finding.severity,
    created_at: parseInstant(vector.finding.created_at),
    current: mapLifecycleInstants(vector.finding.current, parseInstant),
    detections: vector.detections.map(parseInstant),
    // The vectors list events in id order.
    events: vector.events.map((event, index) => ({
      id: index + 1,
      type: event.type,
      occurred_at: parseInstant(event.occurred_at),
    })),
  };
}

describe('findings lifecycle rules', () => {
  it('has vectors to check', () => {
    expect(vectors.rules_version).toBe(1);
    expect(vectors.cases.length).toBeGreaterThanOrEqual(16);
  });

  it.each(vectors.cases.map((vector) => [vector.name, vector] as const))('vector: %s', (_name, vector) => {
    const { rebuilt, changedFields } = rebuildLifecycle(historyOf(vector));
    expect(mapLifecycleInstants(rebuilt, formatInstant)).toEqual(vector.expected);
    expect(changedFields).toEqual(vector.expected_changed_fields);
  });

  const base = parseInstant('2026-01-01T00:00:00Z');
  const plain: FindingHistory = {
    severity: 'high',
    created_at: base,
    current: {
      status: null,
      first_seen_at: null,
      last_seen_at: null,
      times_seen: 0,
      due_at: null,
      resolved_at: null,
      reopened_at: null,
      lifecycle_version: 0,
    },
    detections: [base + MICROS_PER_DAY],
    events: [],
  };

  it('ignores events of other types, even as the latest event', () => {
    const { rebuilt } = rebuildLifecycle({
      ...plain,
      events: [
        { id: 1, type: 'resolved', occurred_at: base + 2 * MICROS_PER_DAY },
        { id: 2, type: 'commented', occurred_at: base + 3 * MICROS_PER_DAY },
      ],
    });
    expect(rebuilt.status).toBe('resolved');
    expect(rebuilt.resolved_at).toBe(base + 2 * MICROS_PER_DAY);
  });

  it('gives an unknown severity no SLA, even one named like an object property', () => {
    for (const severity of ['urgent', 'constructor', 'toString', '']) {
      expect(rebuildLifecycle({ ...plain, severity }).rebuilt.due_at).toBeNull();
    }
    expect(rebuildLifecycle(plain).rebuilt.due_at).toBe(base + 8 * MICROS_PER_DAY);
  });

  it('reopens at the earliest detection strictly after the resolution, to the microsecond', () => {
    const resolvedAt = base + 2 * MICROS_PER_DAY;
    const { rebuilt } = rebuildLifecycle({
      ...plain,
      detections: [resolvedAt + 5, resolvedAt, resolvedAt + 1, resolvedAt - 1],
      events: [{ id: 7, type: 'resolved', occurred_at: resolvedAt }],
    });
    expect(rebuilt).toMatchObject({ status: 'reopened', reopened_at: resolvedAt + 1, resolved_at: null });
    expect(rebuilt.due_at).toBe(resolvedAt + 1 + 7 * MICROS_PER_DAY);
  });

  it('breaks an occurred_at tie by the greater id, whatever the listed order', () => {
    const at = base + 2 * MICROS_PER_DAY;
    const { rebuilt } = rebuildLifecycle({
      ...plain,
      events: [
        { id: 9, type: 'triaged', occurred_at: at },
        { id: 3, type: 'risk_accepted', occurred_at: at },
      ],
    });
    expect(rebuilt.status).toBe('triaged');
  });

  it('reports a one-microsecond difference as a change', () => {
    const { rebuilt } = rebuildLifecycle(plain);
    expect(rebuildLifecycle({ ...plain, current: rebuilt }).changedFields).toEqual([]);
    const nudged = { ...rebuilt, due_at: (rebuilt.due_at ?? 0) + 1 };
    expect(rebuildLifecycle({ ...plain, current: nudged }).changedFields).toEqual(['due_at']);
  });
});

describe('instants', () => {
  it('parses Z and +00:00 with 0 to 6 fraction digits', () => {
    const whole = parseInstant('2026-01-09T23:59:59Z');
    expect(parseInstant('2026-01-09T23:59:59+00:00')).toBe(whole);
    expect(parseInstant('2026-01-09T23:59:59.1Z')).toBe(whole + 100_000);
    expect(parseInstant('2026-01-09T23:59:59.12Z')).toBe(whole + 120_000);
    expect(parseInstant('2026-01-09T23:59:59.000001+00:00')).toBe(whole + 1);
    expect(parseInstant('2026-01-09T23:59:59.123456Z')).toBe(whole + 123_456);
    expect(whole).toBe(Date.UTC(2026, 0, 9, 23, 59, 59) * 1000);
  });

  it('formats with six fraction digits, also before 1970', () => {
    expect(formatInstant(0)).toBe('1970-01-01T00:00:00.000000Z');
    expect(formatInstant(-1)).toBe('1969-12-31T23:59:59.999999Z');
    expect(formatInstant(parseInstant('2024-02-29T12:00:00.5Z'))).toBe('2024-02-29T12:00:00.500000Z');
  });

  it('covers exactly the 2^53 microseconds either side of 1970', () => {
    expect(formatInstant(Number.MAX_SAFE_INTEGER)).toBe('2255-06-05T23:47:34.740991Z');
    expect(formatInstant(-Number.MAX_SAFE_INTEGER)).toBe('1684-07-28T00:12:25.259009Z');
    expect(parseInstant('2255-06-05T23:47:34.740991Z')).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => parseInstant('2255-06-05T23:47:34.740992Z')).toThrow(RangeError);
    expect(() => formatInstant(Number.MAX_SAFE_INTEGER + 1)).toThrow(RangeError);
  });

  it('rejects other offsets, more than six fraction digits and impossible dates', () => {
    for (const text of [
      '2026-01-01T00:00:00+01:00',
      '2026-01-01T00:00:00',
      '2026-01-01 00:00:00Z',
      '2026-01-01T00:00:00.1234567Z',
      '2026-01-01T00:00:00.Z',
      '2026-02-29T00:00:00Z',
      '2026-02-30T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T00:60:00Z',
    ]) {
      expect(() => parseInstant(text), text).toThrow(RangeError);
    }
    expect(() => formatInstant(0.5)).toThrow(RangeError);
  });

  it('round-trips any microsecond and agrees with Date to the millisecond', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (micros) => {
        const text = formatInstant(micros);
        expect(parseInstant(text)).toBe(micros);
        expect(text.slice(0, 23)).toBe(new Date(Math.floor(micros / 1000)).toISOString().slice(0, 23));
      }),
      { numRuns: 2000 },
    );
  });
});
