import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type Config } from '../src/config.js';

/** Each run setting: its variable's suffix, its upper bound, and where the config keeps it (in ms for seconds). */
const SETTINGS: { suffix: string; max: number; read: (config: Config) => number; scale: number }[] = [
  { suffix: 'CHILD_PARALLELISM', max: 1000, read: (config) => config.runs.childParallelism, scale: 1 },
  { suffix: 'CONTINUE_AS_NEW_AFTER', max: 100_000, read: (config) => config.runs.continueAsNewAfter, scale: 1 },
  { suffix: 'MAX_ATTEMPTS', max: 100, read: (config) => config.runs.maxAttempts, scale: 1 },
  { suffix: 'HEARTBEAT_TIMEOUT_SECONDS', max: 3600, read: (config) => config.runs.heartbeatTimeoutMs, scale: 1000 },
  { suffix: 'OUTAGE_WINDOW_SECONDS', max: 604_800, read: (config) => config.outageWindowMs, scale: 1000 },
];

describe('loadConfig: the run settings, RUNBOOK_* (formerly REBUILD_*)', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    expect(config.runs).toMatchObject({
      // Auto: each batch sized to take a second, from 2,000 rows.
      batchSize: 2000,
      batchTargetMs: 1000,
      childParallelism: 8,
      continueAsNewAfter: 500,
      maxAttempts: 5,
      heartbeatTimeoutMs: 30_000,
    });
    expect(config.outageWindowMs).toBe(1_800_000);
  });

  it('needs no session secret, in production either: sessions are random tokens the database keeps', () => {
    const config = loadConfig({ NODE_ENV: 'production' });
    expect(config.isProduction).toBe(true);
    expect(Object.keys(config).filter((key) => /secret/i.test(key))).toEqual([]);
  });

  describe('RUNBOOK_BATCH_SIZE and RUNBOOK_BATCH_TARGET', () => {
    const refusal = (env: NodeJS.ProcessEnv) => {
      try {
        loadConfig(env);
        return null;
      } catch (error) {
        return error instanceof ConfigError ? error.message : error;
      }
    };

    it('sizes batches itself (auto) unless given rows, which fix them', () => {
      expect(loadConfig({ RUNBOOK_BATCH_SIZE: 'auto', RUNBOOK_BATCH_TARGET: '250ms' }).runs).toMatchObject({
        batchSize: 2000,
        batchTargetMs: 250,
      });
      const fixed = loadConfig({ RUNBOOK_BATCH_SIZE: '5000', RUNBOOK_BATCH_TARGET: '250ms' }).runs;
      expect(fixed.batchSize).toBe(5000);
      expect(fixed.batchTargetMs).toBeUndefined();
      expect(loadConfig({ REBUILD_BATCH_SIZE: '300' }).runs.batchSize).toBe(300);
      expect(loadConfig({ RUNBOOK_BATCH_SIZE: '', REBUILD_BATCH_SIZE: '300' }).runs.batchSize).toBe(300);
      expect(loadConfig({ RUNBOOK_BATCH_SIZE: 'AUTO', REBUILD_BATCH_SIZE: '300' }).runs.batchTargetMs).toBe(1000);
    });

    it('names the variable and what it takes when it refuses a value', () => {
      expect(refusal({ RUNBOOK_BATCH_SIZE: '0' })).toBe(
        'RUNBOOK_BATCH_SIZE must be auto or a whole number of rows from 1 to 100000, got "0"',
      );
      expect(refusal({ REBUILD_BATCH_SIZE: 'lots' })).toBe(
        'REBUILD_BATCH_SIZE must be auto or a whole number of rows from 1 to 100000, got "lots"',
      );
      expect(refusal({ RUNBOOK_BATCH_TARGET: 'soon' })).toBe(
        'RUNBOOK_BATCH_TARGET: "soon" is not a duration (write 500ms, 5s, 2m or 1h)',
      );
      expect(refusal({ RUNBOOK_BATCH_TARGET: '10m' })).toBe(
        'RUNBOOK_BATCH_TARGET: a target batch duration must be from 100 ms to 1 min; got 10 min',
      );
    });
  });

  describe.each(SETTINGS)('$suffix', ({ suffix, max, read, scale }) => {
    const current = `RUNBOOK_${suffix}`;
    const deprecated = `REBUILD_${suffix}`;

    it('reads the RUNBOOK_ name', () => {
      expect(read(loadConfig({ [current]: '3' }))).toBe(3 * scale);
    });

    it('reads the deprecated REBUILD_ name while the RUNBOOK_ one is unset or empty', () => {
      expect(read(loadConfig({ [deprecated]: '4' }))).toBe(4 * scale);
      expect(read(loadConfig({ [current]: '', [deprecated]: '4' }))).toBe(4 * scale);
    });

    it('takes the RUNBOOK_ name when both are set, whatever the old one says', () => {
      expect(read(loadConfig({ [current]: '3', [deprecated]: '4' }))).toBe(3 * scale);
      expect(read(loadConfig({ [current]: '3', [deprecated]: 'nonsense' }))).toBe(3 * scale);
    });

    it('names the variable that was actually given when it refuses a value', () => {
      const refusal = (env: NodeJS.ProcessEnv): unknown => {
        try {
          loadConfig(env);
        } catch (error) {
          return error;
        }
        return null;
      };
      const expected = (name: string, raw: string) =>
        new ConfigError(`${name} must be a whole number from 1 to ${max}, got "${raw}"`);
      expect(refusal({ [current]: '0' })).toEqual(expected(current, '0'));
      expect(refusal({ [deprecated]: 'x' })).toEqual(expected(deprecated, 'x'));
      expect(refusal({ [current]: '1.5', [deprecated]: '4' })).toEqual(expected(current, '1.5'));
      expect(refusal({ [current]: String(max + 1) })).toBeInstanceOf(ConfigError);
    });
  });
});
