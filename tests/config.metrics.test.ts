import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { temporalMetricsExporter } from '../src/metrics/temporalExporter.js';

describe('loadConfig: the metrics endpoints, *_METRICS_PORT and METRICS_HOST', () => {
  it('leaves every endpoint off by default, on the loopback address', () => {
    expect(loadConfig({}).metrics).toEqual({
      host: '127.0.0.1',
      consolePort: null,
      workerPort: null,
      temporalPort: null,
    });
    expect(loadConfig({ CONSOLE_METRICS_PORT: '', WORKER_METRICS_PORT: '' }).metrics.consolePort).toBeNull();
    expect(temporalMetricsExporter(loadConfig({}).metrics)).toBeUndefined();
  });

  it('turns each on with its port', () => {
    const config = loadConfig({
      CONSOLE_METRICS_PORT: '9464',
      WORKER_METRICS_PORT: '9465',
      TEMPORAL_METRICS_PORT: '9466',
      METRICS_HOST: '0.0.0.0',
    });
    expect(config.metrics).toEqual({ host: '0.0.0.0', consolePort: 9464, workerPort: 9465, temporalPort: 9466 });
    expect(temporalMetricsExporter(config.metrics)).toEqual({
      prometheus: {
        bindAddress: '0.0.0.0:9466',
        countersTotalSuffix: true,
        unitSuffix: true,
        useSecondsForDurations: true,
      },
    });
    const v6 = loadConfig({ TEMPORAL_METRICS_PORT: '9466', METRICS_HOST: '::1' }).metrics;
    expect(temporalMetricsExporter(v6)?.prometheus.bindAddress).toBe('[::1]:9466');
  });

  it.each([
    [{ WORKER_METRICS_PORT: '0' }, 'WORKER_METRICS_PORT must be a whole number from 1 to 65535, got "0"'],
    [{ CONSOLE_METRICS_PORT: 'on' }, 'CONSOLE_METRICS_PORT must be a whole number from 1 to 65535, got "on"'],
    [{ TEMPORAL_METRICS_PORT: '70000' }, 'TEMPORAL_METRICS_PORT must be a whole number from 1 to 65535, got "70000"'],
    [{ METRICS_HOST: 'localhost' }, 'METRICS_HOST must be an IP address such as 127.0.0.1 or 0.0.0.0, got "localhost"'],
    [
      { WORKER_METRICS_PORT: '9464', TEMPORAL_METRICS_PORT: '9464' },
      'WORKER_METRICS_PORT and TEMPORAL_METRICS_PORT must differ, both are 9464',
    ],
    [{ CONSOLE_METRICS_PORT: '3000' }, "CONSOLE_METRICS_PORT must differ from PORT, the console's own, both are 3000"],
  ])('refuses %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(new ConfigError(message));
  });
});
