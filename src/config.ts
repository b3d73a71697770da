import { isIP } from 'node:net';
import { envName, GATE_FIELD_NAMES, parseGateChange } from './runbooks/health/gateFields.js';
import type { GateChange, GateSettings } from './runbooks/health/gateSettings.js';
import { parseBatchTarget } from './runbooks/sizing/batchSizeText.js';
import {
  DEFAULT_APPROVAL_TTL_MS,
  MAX_APPROVAL_TTL_MS,
  parseApprovalPolicy,
  type ApprovalSettings,
} from './runbooks/approvals/approvalPolicy.js';
import { parseDuration } from './runbooks/durationText.js';
import { AUTO_START_SIZE, DEFAULT_BATCH_TARGET_MS } from './runbooks/sizing/batchSizer.js';

/**
 * Configuration, parsed and validated once from the environment. Defaults run everything on
 * one machine; production points the same code at a real PostgreSQL and Temporal cluster.
 */
export interface Config {
  databaseUrl: string;
  /**
   * Whether DATABASE_URL was set. Unset, `npm start` runs an embedded PostgreSQL when nothing answers
   * at the default address (src/dev/localPostgres.ts); a URL that was given is always used as it is.
   */
  databaseUrlGiven: boolean;
  /** How long a new PostgreSQL connection may take before it counts as unreachable. */
  databaseConnectTimeoutMs: number;
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    /** TLS is on when any TLS option or an API key is given (Temporal Cloud). */
    tls: { serverName?: string; clientCertPath?: string; clientKeyPath?: string; caPath?: string } | null;
    apiKey?: string;
  };
  /** Where run pages link a run's workflow (`TEMPORAL_UI_URL`), without a trailing slash. */
  temporalUiUrl: string;
  port: number;
  host: string;
  /** Session cookies carry `Secure`; off only with NODE_ENV=development or COOKIE_SECURE=false. */
  cookieSecure: boolean;
  /** How runs execute (`RUNBOOK_*`), for every runbook alike. */
  runs: RunSettings;
  /**
   * The database health gates (`HEALTH_*`): the environment's thresholds, over the engine's and each
   * runbook's defaults when a run starts, and the custom gate's query, which workers run.
   */
  health: { gates: GateChange; customQuery: string | null };
  /** Runbook names the deploy hook runs per release (`DEPLOY_RUNBOOKS`); null: the registry's deploy-triggered ones. */
  deployRunbooks: string[] | null;
  /** How often a deploy-triggered start waits for the previous release's run before trying again. */
  deployRetryMs: number;
  /**
   * How long a tenant's work keeps retrying through an infrastructure outage before the tenant
   * is recorded as failed. Bookkeeping activities retry for as long as it takes.
   */
  outageWindowMs: number;
  /**
   * Whether `/admin` registers the legacy maintenance trigger (`ADMIN_MAINTENANCE_TRIGGER=on`):
   * off, its URL does not exist at all.
   */
  adminMaintenanceTrigger: boolean;
  /**
   * Prometheus endpoints, each off (null) unless its port is set, all on `host` (docs/operations.md):
   * the console's (`CONSOLE_METRICS_PORT`), the worker's runbook metrics (`WORKER_METRICS_PORT`) and
   * the Temporal SDK's own metrics of the worker (`TEMPORAL_METRICS_PORT`).
   */
  metrics: { host: string; consolePort: number | null; workerPort: number | null; temporalPort: number | null };
  /**
   * Which starts need a second operator's approval (`APPROVALS`, default `all_tenants:1`) and how
   * long a change request stays open (`APPROVAL_TTL`, default 24 h, at most 7 days).
   */
  approvals: ApprovalSettings;
  /**
   * How long a change window's minute lasts (`CHANGE_WINDOW_MINUTE`): a minute, but tests shorten
   * it so that a window of minutes passes in seconds.
   */
  windowMinuteMs: number;
  isProduction: boolean;
}

/** How runs execute; passed into every workflow so a run keeps the settings it started with. */
export interface RunSettings {
  /** Rows per batch statement; where the run sizes its batches itself, the size it starts with. */
  batchSize: number;
  /** Present when the run sizes its batches itself: the duration it aims each batch at. */
  batchTargetMs?: number;
  /** Tenant child workflows running at once in a multi-tenant run. */
  childParallelism: number;
  /** Children a parent starts before it continues as new (keeps history small). */
  continueAsNewAfter: number;
  /** Attempts at a tenant's work that fails for a business reason before the tenant is recorded as failed. */
  maxAttempts: number;
  heartbeatTimeoutMs: number;
  /** How long one activity keeps taking batches before it reports back. */
  activityTimeBudgetMs: number;
  /** The run's health-gate thresholds, fixed at start; runs started before the gates have none (the defaults apply). */
  gates?: GateSettings;
}

export class ConfigError extends Error {}

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/platform_ops';

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new ConfigError(`${name} must be a whole number from 1 to ${max}, got "${raw}"`);
  }
  return value;
}

/**
 * A `RUNBOOK_<suffix>` setting. For one more release it may still be given under its deprecated
 * name, `REBUILD_<suffix>` (from when the engine ran one runbook), which counts only while the new
 * name is unset or empty; a refusal names whichever variable the value came from.
 */
function runSetting(env: NodeJS.ProcessEnv, suffix: string, fallback: number, max: number): number {
  const name = `RUNBOOK_${suffix}`;
  const deprecated = `REBUILD_${suffix}`;
  const given = env[name] === undefined || env[name] === '' ? deprecated : name;
  return positiveInt(env, given, fallback, max);
}

/**
 * `RUNBOOK_BATCH_SIZE`: `auto` (the default) sizes each run's batches to take
 * `RUNBOOK_BATCH_TARGET` (1 s), starting from 2,000 rows; a number fixes them at that many rows.
 */
function batchSizing(env: NodeJS.ProcessEnv): Pick<RunSettings, 'batchSize' | 'batchTargetMs'> {
  const name = env.RUNBOOK_BATCH_SIZE ? 'RUNBOOK_BATCH_SIZE' : 'REBUILD_BATCH_SIZE';
  const size = env[name]?.trim() ?? '';
  if (size !== '' && size.toLowerCase() !== 'auto') {
    const rows = Number(size);
    if (!/^\d+$/.test(size) || rows < 1 || rows > 100_000) {
      throw new ConfigError(
        `${name} must be auto or a whole number of rows from 1 to 100000, got "${size.slice(0, 200)}"`,
      );
    }
    return { batchSize: rows };
  }
  const target = env.RUNBOOK_BATCH_TARGET?.trim()
    ? parseBatchTarget(env.RUNBOOK_BATCH_TARGET)
    : DEFAULT_BATCH_TARGET_MS;
  if (typeof target === 'string') throw new ConfigError(`RUNBOOK_BATCH_TARGET: ${target}`);
  return { batchSize: AUTO_START_SIZE, batchTargetMs: target };
}

/**
 * DATABASE_URL must parse as a URL: node-postgres would otherwise fail with a TypeError that
 * echoes the whole string, password included. The message never repeats the value.
 */
function databaseUrl(env: NodeJS.ProcessEnv): string {
  const raw = env.DATABASE_URL || DEFAULT_DATABASE_URL;
  let url: URL | null = null;
  try {
    url = new URL(raw);
  } catch {
    // reported below
  }
  if (!url || !['postgres:', 'postgresql:'].includes(url.protocol) || !url.hostname) {
    throw new ConfigError(
      'DATABASE_URL is not a valid PostgreSQL URL; write it as postgres://user:password@host:5432/database, ' +
        'percent-encoding special characters in the user or password (/ as %2F, @ as %40, : as %3A).',
    );
  }
  return raw;
}

/** An http(s) URL, or the console would link operators to something else entirely. */
function temporalUiUrl(env: NodeJS.ProcessEnv): string {
  const raw = env.TEMPORAL_UI_URL || 'http://127.0.0.1:8233';
  let url: URL | null = null;
  try {
    url = new URL(raw);
  } catch {
    // reported below
  }
  if (!url || !['http:', 'https:'].includes(url.protocol)) {
    throw new ConfigError(
      `TEMPORAL_UI_URL must be an http:// or https:// URL such as http://127.0.0.1:8233, got "${raw.slice(0, 200)}"`,
    );
  }
  return url.href.replace(/\/+$/, '');
}

/** The `HEALTH_*` settings: `HEALTH_GATES=off` turns the gates off, the others set thresholds. */
function healthSettings(env: NodeJS.ProcessEnv): Config['health'] {
  const given = Object.fromEntries(GATE_FIELD_NAMES.map((name) => [name, env[envName(name)]]));
  const parsed = parseGateChange(given, envName);
  if ('problem' in parsed) throw new ConfigError(parsed.problem);
  const switched = env.HEALTH_GATES;
  if (switched !== undefined && !['', 'on', 'off'].includes(switched)) {
    throw new ConfigError(`HEALTH_GATES must be "on" or "off", got "${switched.slice(0, 200)}"`);
  }
  return {
    // Set either way, it wins over a runbook's own choice; unset, the runbook's (or the default, on) stands.
    gates: switched === 'off' || switched === 'on' ? { ...parsed.change, enabled: switched === 'on' } : parsed.change,
    customQuery: env.HEALTH_CUSTOM_QUERY?.trim() || null,
  };
}

/** A switch that is off unless set to exactly `on`; a typo is an error, not a silent off. */
function onOff(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '' || raw === 'off') return false;
  if (raw === 'on') return true;
  throw new ConfigError(`${name} must be "on" or "off", got "${raw.slice(0, 200)}"`);
}

/**
 * The `*_METRICS_PORT` settings and the address they listen on (`METRICS_HOST`, an IP address: the
 * Temporal SDK's exporter binds to nothing else). A worker serves two of them, which must differ.
 */
function metricsSettings(env: NodeJS.ProcessEnv): Config['metrics'] {
  const port = (name: string) => (env[name] ? positiveInt(env, name, 0, 65535) : null);
  const host = env.METRICS_HOST || '127.0.0.1';
  if (!isIP(host)) {
    throw new ConfigError(
      `METRICS_HOST must be an IP address such as 127.0.0.1 or 0.0.0.0, got "${host.slice(0, 200)}"`,
    );
  }
  const metrics = {
    host,
    consolePort: port('CONSOLE_METRICS_PORT'),
    workerPort: port('WORKER_METRICS_PORT'),
    temporalPort: port('TEMPORAL_METRICS_PORT'),
  };
  if (metrics.consolePort !== null && metrics.consolePort === positiveInt(env, 'PORT', 3000, 65535)) {
    throw new ConfigError(
      `CONSOLE_METRICS_PORT must differ from PORT, the console's own, both are ${metrics.consolePort}`,
    );
  }
  if (metrics.workerPort !== null && metrics.workerPort === metrics.temporalPort) {
    throw new ConfigError(`WORKER_METRICS_PORT and TEMPORAL_METRICS_PORT must differ, both are ${metrics.workerPort}`);
  }
  return metrics;
}

function approvalSettings(env: NodeJS.ProcessEnv): ApprovalSettings {
  const policy = parseApprovalPolicy(env.APPROVALS?.trim() || 'all_tenants:1');
  if (typeof policy === 'string') throw new ConfigError(`APPROVALS: ${policy}`);
  const ttl = env.APPROVAL_TTL?.trim() ? parseDuration(env.APPROVAL_TTL) : DEFAULT_APPROVAL_TTL_MS;
  if (typeof ttl === 'string') throw new ConfigError(`APPROVAL_TTL: ${ttl}`);
  if (ttl < 1000 || ttl > MAX_APPROVAL_TTL_MS) {
    throw new ConfigError(`APPROVAL_TTL must be from 1s to 7 days (168h), got "${env.APPROVAL_TTL!.slice(0, 100)}"`);
  }
  return { policy, ttlMs: ttl };
}

function windowMinute(env: NodeJS.ProcessEnv): number {
  if (!env.CHANGE_WINDOW_MINUTE?.trim()) return 60_000;
  const ms = parseDuration(env.CHANGE_WINDOW_MINUTE);
  if (typeof ms === 'string') throw new ConfigError(`CHANGE_WINDOW_MINUTE: ${ms}`);
  if (ms < 100 || ms > 60_000) {
    throw new ConfigError(
      `CHANGE_WINDOW_MINUTE must be from 100ms to 1m (shorter only for tests), got "${env.CHANGE_WINDOW_MINUTE.slice(0, 100)}"`,
    );
  }
  return ms;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const isProduction = env.NODE_ENV === 'production';
  const tlsOptions = {
    serverName: env.TEMPORAL_TLS_SERVER_NAME,
    clientCertPath: env.TEMPORAL_TLS_CERT,
    clientKeyPath: env.TEMPORAL_TLS_KEY,
    caPath: env.TEMPORAL_TLS_CA,
  };
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  const wantsTls = env.TEMPORAL_TLS === 'true' || apiKey !== undefined || Object.values(tlsOptions).some(Boolean);
  return {
    databaseUrl: databaseUrl(env),
    databaseUrlGiven: Boolean(env.DATABASE_URL),
    databaseConnectTimeoutMs: 1000 * positiveInt(env, 'DATABASE_CONNECT_TIMEOUT_SECONDS', 10, 600),
    temporal: {
      address: env.TEMPORAL_ADDRESS || '127.0.0.1:7233',
      namespace: env.TEMPORAL_NAMESPACE || 'default',
      taskQueue: env.TEMPORAL_TASK_QUEUE || 'platform-ops-runbooks',
      tls: wantsTls ? tlsOptions : null,
      apiKey,
    },
    temporalUiUrl: temporalUiUrl(env),
    port: positiveInt(env, 'PORT', 3000, 65535),
    host: env.HOST || '127.0.0.1',
    cookieSecure: env.NODE_ENV !== 'development' && env.COOKIE_SECURE !== 'false',
    runs: {
      ...batchSizing(env),
      childParallelism: runSetting(env, 'CHILD_PARALLELISM', 8, 1000),
      continueAsNewAfter: runSetting(env, 'CONTINUE_AS_NEW_AFTER', 500, 100_000),
      maxAttempts: runSetting(env, 'MAX_ATTEMPTS', 5, 100),
      heartbeatTimeoutMs: 1000 * runSetting(env, 'HEARTBEAT_TIMEOUT_SECONDS', 30, 3600),
      activityTimeBudgetMs: 10_000,
    },
    health: healthSettings(env),
    deployRunbooks:
      env.DEPLOY_RUNBOOKS === undefined
        ? null
        : env.DEPLOY_RUNBOOKS.split(',')
            .map((name) => name.trim())
            .filter(Boolean),
    deployRetryMs: 1000 * positiveInt(env, 'DEPLOY_RETRY_SECONDS', 15, 3600),
    outageWindowMs: 1000 * runSetting(env, 'OUTAGE_WINDOW_SECONDS', 1800, 7 * 24 * 3600),
    adminMaintenanceTrigger: onOff(env, 'ADMIN_MAINTENANCE_TRIGGER'),
    metrics: metricsSettings(env),
    approvals: approvalSettings(env),
    windowMinuteMs: windowMinute(env),
    isProduction,
  };
}
