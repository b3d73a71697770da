import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import {
  envName,
  formatGateValue,
  GATE_FIELD_NAMES,
  GATE_FIELDS,
  gateDifferences,
  gatesLine,
  gateValue,
  kebabCase,
  parseGateChange,
  type GateFieldName,
} from '../src/runbooks/health/gateFields.js';
import { applyGateChange, DEFAULT_GATES } from '../src/runbooks/health/gateSettings.js';

/** Labels a value as the CLI's `runs tune` does. */
const flag = (name: GateFieldName) => `--${kebabCase(name)}`;
const parse = (given: Partial<Record<GateFieldName, string | undefined>>) => parseGateChange(given, flag);

describe('the gate fields', () => {
  it('has one name per threshold, each level and key once', () => {
    const targets = GATE_FIELD_NAMES.map((name) => `${GATE_FIELDS[name].level ?? '-'}.${GATE_FIELDS[name].key}`);
    expect(targets).toEqual([
      'hold.replicaLagMs',
      'hold.transactionAgeMs',
      'hold.connectionsPercent',
      'hold.custom',
      'critical.replicaLagMs',
      'critical.transactionAgeMs',
      'critical.connectionsPercent',
      'critical.custom',
      '-.lockTimeoutMs',
    ]);
  });

  it('writes a name as a CLI flag and as an environment variable', () => {
    expect(kebabCase('maxReplicaLag')).toBe('max-replica-lag');
    expect(kebabCase('lockTimeout')).toBe('lock-timeout');
    expect(envName('maxReplicaLag')).toBe('HEALTH_MAX_REPLICA_LAG');
    expect(envName('criticalTransactionAge')).toBe('HEALTH_CRITICAL_TRANSACTION_AGE');
    expect(envName('lockTimeout')).toBe('HEALTH_LOCK_TIMEOUT');
  });
});

describe('parseGateChange', () => {
  it('reads a duration with a unit', () => {
    expect(parse({ maxReplicaLag: '10s' })).toEqual({ change: { hold: { replicaLagMs: 10_000 } } });
    expect(parse({ criticalReplicaLag: '2m' })).toEqual({ change: { critical: { replicaLagMs: 120_000 } } });
    expect(parse({ lockTimeout: '500ms' })).toEqual({ change: { lockTimeoutMs: 500 } });
    expect(parse({ criticalTransactionAge: '1h' })).toEqual({ change: { critical: { transactionAgeMs: 3_600_000 } } });
  });

  it('reads a bare number as seconds, a fraction included', () => {
    expect(parse({ maxReplicaLag: '5' })).toEqual({ change: { hold: { replicaLagMs: 5_000 } } });
    expect(parse({ maxReplicaLag: '1.5' })).toEqual({ change: { hold: { replicaLagMs: 1_500 } } });
    expect(parse({ maxReplicaLag: '.5' })).toEqual({ change: { hold: { replicaLagMs: 500 } } });
  });

  it('reads a percentage with or without the sign', () => {
    expect(parse({ maxConnections: '80%' })).toEqual({ change: { hold: { connectionsPercent: 80 } } });
    expect(parse({ maxConnections: '80' })).toEqual({ change: { hold: { connectionsPercent: 80 } } });
    expect(parse({ criticalConnections: ' 90 % ' })).toEqual({ change: { critical: { connectionsPercent: 90 } } });
  });

  it('reads the custom limit as a number, and none as no limit', () => {
    expect(parse({ maxCustom: 'none' })).toEqual({ change: { hold: { custom: null } } });
    expect(parse({ criticalCustom: '12.5' })).toEqual({ change: { critical: { custom: 12.5 } } });
    expect(parse({ maxCustom: '-3' })).toEqual({ change: { hold: { custom: -3 } } });
  });

  it('ignores unset and empty values', () => {
    expect(parse({})).toEqual({ change: {} });
    expect(parse({ maxReplicaLag: undefined, maxConnections: '', criticalCustom: '   ' })).toEqual({ change: {} });
  });

  it('puts several values of both levels into one change', () => {
    expect(parse({ maxReplicaLag: '10s', maxConnections: '70%', criticalReplicaLag: '2m', lockTimeout: '3s' })).toEqual(
      {
        change: {
          hold: { replicaLagMs: 10_000, connectionsPercent: 70 },
          critical: { replicaLagMs: 120_000 },
          lockTimeoutMs: 3_000,
        },
      },
    );
  });

  it('names the value as the label does when it is not a duration', () => {
    expect(parse({ maxReplicaLag: 'soon' })).toEqual({
      problem: '--max-replica-lag: "soon" is not a duration (write 500ms, 5s, 2m or 1h)',
    });
  });

  it('names the value when it is not a percentage or a number', () => {
    expect(parse({ maxConnections: 'lots' })).toEqual({
      problem: '--max-connections: "lots" is not a percentage (write 80%)',
    });
    expect(parse({ maxConnections: '80.5%' })).toEqual({
      problem: '--max-connections: "80.5%" is not a percentage (write 80%)',
    });
    expect(parse({ criticalCustom: 'many' })).toEqual({
      problem: '--critical-custom: "many" is not a number (or none)',
    });
  });

  it('names the value when it is out of range', () => {
    expect(parse({ criticalConnections: '101' })).toEqual({
      problem: '--critical-connections: The critical limit of connections must be from 1 % to 100 %; got 101 %.',
    });
    expect(parse({ maxReplicaLag: '50ms' })).toEqual({
      problem: '--max-replica-lag: The hold limit of replica lag must be from 100 ms to 24 h; got 50 ms.',
    });
    expect(parse({ lockTimeout: '1h' })).toEqual({
      problem: '--lock-timeout: The lock timeout must be from 50 ms to 10 min; got 1 h.',
    });
  });

  it('says the first problem, in the fields’ order, when there are several', () => {
    expect(parse({ lockTimeout: 'later', maxConnections: '0', maxReplicaLag: '10s' })).toEqual({
      problem: '--max-connections: The hold limit of connections must be from 1 % to 100 %; got 0 %.',
    });
  });

  it('labels a problem as the caller asks, an environment variable for one', () => {
    expect(parseGateChange({ maxTransactionAge: 'forever' }, envName)).toEqual({
      problem: 'HEALTH_MAX_TRANSACTION_AGE: "forever" is not a duration (write 500ms, 5s, 2m or 1h)',
    });
  });
});

describe('gateValue and formatGateValue', () => {
  it('reads a threshold from a run’s gates, the defaults where it has none', () => {
    expect(gateValue(undefined, 'maxReplicaLag')).toBe(5_000);
    expect(gateValue(undefined, 'criticalConnections')).toBe(95);
    expect(gateValue(undefined, 'maxCustom')).toBeNull();
    expect(gateValue(undefined, 'lockTimeout')).toBe(2_000);
    const gates = applyGateChange(DEFAULT_GATES, { critical: { custom: 9 }, lockTimeoutMs: 750 });
    expect(gateValue(gates, 'criticalCustom')).toBe(9);
    expect(gateValue(gates, 'lockTimeout')).toBe(750);
  });

  it('writes a threshold as people read it', () => {
    expect(formatGateValue('maxReplicaLag', 5_000)).toBe('5 s');
    expect(formatGateValue('criticalTransactionAge', 1_800_000)).toBe('30 min');
    expect(formatGateValue('maxConnections', 80)).toBe('80 %');
    expect(formatGateValue('maxCustom', 12.5)).toBe('12.5');
    expect(formatGateValue('maxCustom', null)).toBe('none');
  });
});

describe('gateDifferences', () => {
  it('lists only the thresholds that changed, before and after', () => {
    const tuned = applyGateChange(DEFAULT_GATES, { hold: { replicaLagMs: 10_000 } });
    expect(gateDifferences(DEFAULT_GATES, tuned)).toEqual(['max-replica-lag 5 s → 10 s']);
  });

  it('lists several changes in the fields’ order, a custom limit set from none included', () => {
    const tuned = applyGateChange(DEFAULT_GATES, { lockTimeoutMs: 5_000, hold: { custom: 10 } });
    expect(gateDifferences(undefined, tuned)).toEqual(['max-custom none → 10', 'lock-timeout 2 s → 5 s']);
  });

  it('lists nothing when nothing changed, absent gates being the defaults', () => {
    expect(gateDifferences(undefined, DEFAULT_GATES)).toEqual([]);
    expect(gateDifferences(DEFAULT_GATES, applyGateChange(DEFAULT_GATES, {}))).toEqual([]);
  });

  it('says first that the gates went off or on', () => {
    const off = applyGateChange(DEFAULT_GATES, { enabled: false });
    expect(gateDifferences(DEFAULT_GATES, off)).toEqual(['health gates off']);
    expect(gateDifferences(undefined, applyGateChange(off, { lockTimeoutMs: 5_000 }))).toEqual([
      'health gates off',
      'lock-timeout 2 s → 5 s',
    ]);
    expect(gateDifferences(off, DEFAULT_GATES)).toEqual(['health gates on']);
  });
});

describe('gatesLine', () => {
  it('lists the defaults for a run without gates of its own', () => {
    expect(gatesLine(undefined)).toBe(
      'max-replica-lag 5 s, max-transaction-age 5 min, max-connections 80 %, max-custom none, ' +
        'critical-replica-lag 1 min, critical-transaction-age 30 min, critical-connections 95 %, ' +
        'critical-custom none, lock-timeout 2 s',
    );
  });

  it('lists a run’s own thresholds', () => {
    const gates = applyGateChange(DEFAULT_GATES, { hold: { replicaLagMs: 10_000, custom: 3 } });
    expect(gatesLine(gates)).toContain('max-replica-lag 10 s, max-transaction-age 5 min');
    expect(gatesLine(gates)).toContain('max-custom 3, critical-replica-lag 1 min');
  });

  it('is "off" when the gates are off', () => {
    expect(gatesLine(applyGateChange(DEFAULT_GATES, { enabled: false }))).toBe('off');
  });
});

describe('loadConfig: the health gates, HEALTH_*', () => {
  /** A configuration error with exactly this message (toThrow with an instance compares messages only). */
  const refused = (env: NodeJS.ProcessEnv, message: string) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new ConfigError(message));
  };

  it('changes nothing of the defaults and has no custom query when nothing is set', () => {
    expect(loadConfig({}).health).toEqual({ gates: {}, customQuery: null });
  });

  it('turns the gates off with HEALTH_GATES=off and on with on (over a runbook of its own mind); empty leaves them be', () => {
    expect(loadConfig({ HEALTH_GATES: 'off' }).health.gates).toEqual({ enabled: false });
    expect(loadConfig({ HEALTH_GATES: 'on' }).health.gates).toEqual({ enabled: true });
    expect(loadConfig({ HEALTH_GATES: '' }).health.gates).toEqual({});
  });

  it('reads each threshold from its HEALTH_ variable', () => {
    expect(loadConfig({ HEALTH_MAX_REPLICA_LAG: '10s' }).health.gates).toEqual({ hold: { replicaLagMs: 10_000 } });
    expect(
      loadConfig({
        HEALTH_GATES: 'off',
        HEALTH_MAX_CONNECTIONS: '70%',
        HEALTH_CRITICAL_CUSTOM: '100',
        HEALTH_LOCK_TIMEOUT: '5s',
      }).health.gates,
    ).toEqual({
      enabled: false,
      hold: { connectionsPercent: 70 },
      critical: { custom: 100 },
      lockTimeoutMs: 5_000,
    });
  });

  it('takes the custom gate’s query trimmed, and a blank one as none', () => {
    expect(loadConfig({ HEALTH_CUSTOM_QUERY: '  SELECT 1  ' }).health.customQuery).toBe('SELECT 1');
    expect(loadConfig({ HEALTH_CUSTOM_QUERY: '   ' }).health.customQuery).toBeNull();
  });

  it('refuses a threshold that is not a duration, naming the variable', () => {
    refused(
      { HEALTH_MAX_REPLICA_LAG: 'soon' },
      'HEALTH_MAX_REPLICA_LAG: "soon" is not a duration (write 500ms, 5s, 2m or 1h)',
    );
  });

  it('refuses a threshold out of range, naming the variable', () => {
    refused(
      { HEALTH_CRITICAL_CONNECTIONS: '0' },
      'HEALTH_CRITICAL_CONNECTIONS: The critical limit of connections must be from 1 % to 100 %; got 0 %.',
    );
  });

  it('refuses HEALTH_GATES other than on or off', () => {
    for (const value of ['maybe', 'OFF', 'false']) {
      refused({ HEALTH_GATES: value }, `HEALTH_GATES must be "on" or "off", got "${value}"`);
    }
  });
});
