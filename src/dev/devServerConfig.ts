import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { UserError } from '../errors.js';

const SEARCH_ATTRIBUTE_TYPES = ['Text', 'Keyword', 'Int', 'Double', 'Bool', 'Datetime', 'KeywordList'] as const;
const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'never'] as const;

export interface DevServerConfig {
  ip: string;
  port: number;
  uiPort: number;
  namespace: string;
  dbFilename: string;
  logLevel: (typeof LOG_LEVELS)[number];
  sqlitePragmas: Record<string, string>;
  dynamicConfig: Record<string, unknown>;
  searchAttributes: Record<string, (typeof SEARCH_ATTRIBUTE_TYPES)[number]>;
}

function fail(path: string, message: string): never {
  throw new UserError(`${path}: ${message}`);
}

function port(path: string, name: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 65535) {
    fail(path, `${name} must be a port number from 1 to 65535`);
  }
  return value as number;
}

function record(path: string, name: string, value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) fail(path, `${name} must be a mapping`);
  return value as Record<string, unknown>;
}

/** Reads and validates `temporal-dev.yaml`; errors name the file and the allowed values. */
export function loadDevServerConfig(path: string): DevServerConfig {
  const raw = record(path, 'the document', parse(readFileSync(path, 'utf8')));
  const logLevel = raw.logLevel ?? 'warn';
  if (!LOG_LEVELS.includes(logLevel as never)) fail(path, `logLevel must be one of ${LOG_LEVELS.join(', ')}`);
  const searchAttributes = record(path, 'searchAttributes', raw.searchAttributes);
  for (const [name, type] of Object.entries(searchAttributes)) {
    if (!SEARCH_ATTRIBUTE_TYPES.includes(type as never)) {
      fail(path, `search attribute ${name} has type ${String(type)}; use one of ${SEARCH_ATTRIBUTE_TYPES.join(', ')}`);
    }
  }
  return {
    ip: typeof raw.ip === 'string' ? raw.ip : '127.0.0.1',
    port: port(path, 'port', raw.port ?? 7233),
    uiPort: port(path, 'uiPort', raw.uiPort ?? 8233),
    namespace: typeof raw.namespace === 'string' ? raw.namespace : 'default',
    dbFilename: typeof raw.dbFilename === 'string' ? raw.dbFilename : '.data/temporal/dev.sqlite',
    logLevel: logLevel as DevServerConfig['logLevel'],
    sqlitePragmas: Object.fromEntries(
      Object.entries(record(path, 'sqlitePragmas', raw.sqlitePragmas)).map(([k, v]) => [k, String(v)]),
    ),
    dynamicConfig: record(path, 'dynamicConfig', raw.dynamicConfig),
    searchAttributes: searchAttributes as DevServerConfig['searchAttributes'],
  };
}

export interface DevServerOverrides {
  /** Keep everything in memory (tests) instead of the file store. */
  inMemory?: boolean;
  port?: number;
  /** `null` runs headless, without the Web UI. */
  uiPort?: number | null;
  httpPort?: number;
  metricsPort?: number;
  /** Base folder for a relative `dbFilename`. */
  projectRoot?: string;
}

/** The `temporal server start-dev` arguments for a config; the one place that knows the flags. */
export function devServerArgs(config: DevServerConfig, overrides: DevServerOverrides = {}): string[] {
  const args = ['server', 'start-dev', '--ip', config.ip, '--port', String(overrides.port ?? config.port)];
  args.push('--log-level', config.logLevel);
  if (config.namespace !== 'default') args.push('--namespace', config.namespace);
  if (overrides.uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(overrides.uiPort ?? config.uiPort));
  if (overrides.httpPort) args.push('--http-port', String(overrides.httpPort));
  if (overrides.metricsPort) args.push('--metrics-port', String(overrides.metricsPort));
  if (!overrides.inMemory) {
    args.push('--db-filename', resolve(overrides.projectRoot ?? '.', config.dbFilename));
    // Pragmas apply to the file store only; the CLI rejects them for the in-memory one.
    for (const [pragma, value] of Object.entries(config.sqlitePragmas))
      args.push('--sqlite-pragma', `${pragma}=${value}`);
  }
  for (const [key, value] of Object.entries(config.dynamicConfig)) {
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }
  for (const [name, type] of Object.entries(config.searchAttributes))
    args.push('--search-attribute', `${name}=${type}`);
  return args;
}
