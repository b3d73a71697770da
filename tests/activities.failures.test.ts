import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { asActivityFailure } from '../src/activities/failures.js';
import { isTransientError } from '../src/transient.js';
import { FAILURE_TYPES } from '../src/workflows/failureTypes.js';

/** A driver error as node-postgres raises it for a server-side SQLSTATE. */
function sqlError(code: string, message = 'server said no'): Error {
  return Object.assign(new pg.DatabaseError(message, 0, 'error'), { code });
}

async function refusedConnection(): Promise<Error> {
  const client = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:1/none' });
  return client.connect().then(
    () => new Error('connected to port 1?'),
    (error: Error) => error,
  );
}

describe('isTransientError: the one classification of infrastructure failures', () => {
  it('counts a refused connection (a real one) and a dropped connection as transient', async () => {
    expect(isTransientError(await refusedConnection())).toBe(true);
    expect(isTransientError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(
      isTransientError(new Error('wrapper', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) })),
    ).toBe(true);
  });

  it.each([
    ['57P01', 'admin shutdown'],
    ['57P03', 'the database system is starting up'],
    ['40001', 'serialization failure'],
    ['40P01', 'deadlock detected'],
    ['08006', 'connection failure'],
    ['53300', 'too many connections'],
  ])('counts SQLSTATE %s (%s) as transient', (code, message) => {
    expect(isTransientError(sqlError(code, message))).toBe(true);
  });

  it.each([
    ['P0001', 'a trigger raised'],
    ['23505', 'unique violation'],
    ['22P02', 'invalid input syntax'],
    ['42P01', 'undefined table'],
  ])('counts SQLSTATE %s (%s) as a business failure', (code, message) => {
    expect(isTransientError(sqlError(code, message))).toBe(false);
  });

  it('counts Temporal UNAVAILABLE as transient, other gRPC codes not', () => {
    const grpc = (code: number) => Object.assign(new Error(`${code} grpc`), { code, metadata: {} });
    expect(isTransientError(grpc(14))).toBe(true);
    expect(isTransientError(grpc(3))).toBe(false);
    expect(isTransientError(new Error('run status cannot go from completed to running'))).toBe(false);
    expect(isTransientError('a string')).toBe(false);
  });
});

describe('asActivityFailure: what a workflow sees of an activity error', () => {
  const window = { windowMs: 30 * 60_000, firstScheduledMs: 1_000_000, nowMs: 1_000_000 + 60_000 };

  it('makes a business failure non-retryable, with its first line as the message', () => {
    const failure = asActivityFailure(
      sqlError('P0001', 'tenant 7 is locked for maintenance\nCONTEXT: trigger'),
      window,
    );
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({
      type: FAILURE_TYPES.business,
      nonRetryable: true,
      message: 'tenant 7 is locked for maintenance',
    });
  });

  it('keeps a transient failure retryable inside the outage window, for tenant work and bookkeeping', async () => {
    const refused = await refusedConnection();
    expect(asActivityFailure(refused, window)).toMatchObject({ type: FAILURE_TYPES.transient, nonRetryable: false });
    expect(asActivityFailure(refused, null)).toMatchObject({ type: FAILURE_TYPES.transient, nonRetryable: false });
  });

  it('gives up on tenant work past the outage window, naming the outage; bookkeeping never gives up', async () => {
    const refused = await refusedConnection();
    const late = { ...window, nowMs: window.firstScheduledMs + window.windowMs + 1 };
    const failure = asActivityFailure(refused, late);
    expect(failure).toMatchObject({ type: FAILURE_TYPES.outage, nonRetryable: true });
    expect(failure.message).toMatch(
      /^Infrastructure unavailable for more than 30 minutes, the outage window \(last error: .*ECONNREFUSED/,
    );
    expect(asActivityFailure(refused, { windowMs: 5_000, firstScheduledMs: 0, nowMs: 6_000 }).message).toMatch(
      /more than 5 seconds/,
    );
  });

  it('passes cancellation and failures that are already classified through unchanged', () => {
    const cancelled = new CancelledFailure('cancelled');
    const classified = ApplicationFailure.nonRetryable('done', 'Other');
    expect(asActivityFailure(cancelled, window)).toBe(cancelled);
    expect(asActivityFailure(classified, window)).toBe(classified);
  });
});
