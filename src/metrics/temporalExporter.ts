import type { MetricsExporterConfig, PrometheusMetricsExporter } from '@temporalio/worker';
import type { Config } from '../config.js';

/**
 * The Temporal SDK's own Prometheus exporter (`TEMPORAL_METRICS_PORT`; none when unset), named
 * by Prometheus's conventions: counters end in `_total`, durations are in seconds and say so
 * (`temporal_activity_schedule_to_start_latency_seconds`), as Temporal's alerting guide queries them.
 */
export function temporalMetricsExporter(
  metrics: Config['metrics'],
): (MetricsExporterConfig & PrometheusMetricsExporter) | undefined {
  if (metrics.temporalPort === null) return undefined;
  const host = metrics.host.includes(':') ? `[${metrics.host}]` : metrics.host;
  return {
    prometheus: {
      bindAddress: `${host}:${metrics.temporalPort}`,
      countersTotalSuffix: true,
      unitSuffix: true,
      useSecondsForDurations: true,
    },
  };
}
