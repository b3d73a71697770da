import { parseDuration } from '../durationText.js';
import {
  DEFAULT_GATES,
  formatGateDuration,
  gateChangeProblem,
  type GateChange,
  type GateLimits,
  type GateSettings,
} from './gateSettings.js';

type Kind = 'duration' | 'percent' | 'number';

interface GateField {
  level: 'hold' | 'critical' | null;
  key: keyof GateLimits | 'lockTimeoutMs';
  kind: Kind;
  /** What it sets, for --help and the console's labels. */
  help: string;
}

/**
 * Every threshold as people give it: one name per threshold, written `--max-replica-lag` at the
 * CLI, `HEALTH_MAX_REPLICA_LAG` in the environment and `maxReplicaLag` in the console's form.
 */
export const GATE_FIELDS = {
  maxReplicaLag: { level: 'hold', key: 'replicaLagMs', kind: 'duration', help: 'hold while a replica lags more (5s)' },
  maxTransactionAge: {
    level: 'hold',
    key: 'transactionAgeMs',
    kind: 'duration',
    help: 'hold while a transaction is open longer (5m)',
  },
  maxConnections: {
    level: 'hold',
    key: 'connectionsPercent',
    kind: 'percent',
    help: 'hold over this share of max_connections (80%)',
  },
  maxCustom: { level: 'hold', key: 'custom', kind: 'number', help: "hold while the custom gate's query returns more" },
  criticalReplicaLag: {
    level: 'critical',
    key: 'replicaLagMs',
    kind: 'duration',
    help: 'pause for an operator while a replica lags more (60s)',
  },
  criticalTransactionAge: {
    level: 'critical',
    key: 'transactionAgeMs',
    kind: 'duration',
    help: 'pause for an operator while a transaction is open longer (30m)',
  },
  criticalConnections: {
    level: 'critical',
    key: 'connectionsPercent',
    kind: 'percent',
    help: 'pause for an operator over this share of max_connections (95%)',
  },
  criticalCustom: {
    level: 'critical',
    key: 'custom',
    kind: 'number',
    help: "pause for an operator while the custom gate's query returns more",
  },
  lockTimeout: { level: null, key: 'lockTimeoutMs', kind: 'duration', help: 'how long a batch waits for a lock (2s)' },
} as const satisfies Record<string, GateField>;

export type GateFieldName = keyof typeof GATE_FIELDS;
export const GATE_FIELD_NAMES = Object.keys(GATE_FIELDS) as GateFieldName[];

/** `maxReplicaLag` → `max-replica-lag` (a CLI flag) or `MAX_REPLICA_LAG` (after `HEALTH_`). */
export const kebabCase = (name: GateFieldName) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
export const envName = (name: GateFieldName) => `HEALTH_${kebabCase(name).replace(/-/g, '_').toUpperCase()}`;

/** A value as given ("10s", "80%", "12.5"), or why it is none; `none` clears a custom limit. */
function parseValue(kind: Kind, text: string): number | null | string {
  const trimmed = text.trim();
  if (kind === 'duration') return parseDuration(trimmed);
  if (kind === 'percent') {
    const match = /^(\d+)\s*%?$/.exec(trimmed);
    return match ? Number(match[1]) : `"${trimmed}" is not a percentage (write 80%)`;
  }
  if (trimmed === 'none') return null;
  const value = Number(trimmed);
  return trimmed !== '' && Number.isFinite(value) ? value : `"${trimmed}" is not a number (or none)`;
}

/**
 * The change that values given by name make, or the first problem with them, naming the value as
 * `label` names it (a flag, a variable). Unset and empty values change nothing.
 */
export function parseGateChange(
  given: Partial<Record<GateFieldName, string | undefined>>,
  label: (name: GateFieldName) => string,
): { change: GateChange } | { problem: string } {
  const change: GateChange = {};
  for (const name of GATE_FIELD_NAMES) {
    const text = given[name];
    if (text === undefined || text.trim() === '') continue;
    const field: GateField = GATE_FIELDS[name];
    const value = parseValue(field.kind, text);
    if (typeof value === 'string') return { problem: `${label(name)}: ${value.slice(0, 200)}` };
    if (field.level === null) change.lockTimeoutMs = value ?? undefined;
    else change[field.level] = { ...change[field.level], [field.key]: value };
    const problem = gateChangeProblem(change);
    if (problem) return { problem: `${label(name)}: ${problem}` };
  }
  return { change };
}

/** A threshold's value in a run's gates, as the name says it (absent gates: the defaults). */
export function gateValue(gates: GateSettings | undefined, name: GateFieldName): number | null {
  const field: GateField = GATE_FIELDS[name];
  const resolved = gates ?? DEFAULT_GATES;
  if (field.level === null) return resolved.lockTimeoutMs;
  return resolved[field.level][field.key as keyof GateLimits];
}

/** A threshold's value as people read it: 5 s, 80 %, 12, none. */
export function formatGateValue(name: GateFieldName, value: number | null): string {
  if (value === null) return 'none';
  const kind: Kind = GATE_FIELDS[name].kind;
  if (kind === 'duration') return formatGateDuration(value);
  return kind === 'percent' ? `${value} %` : String(value);
}

/** What a tune changed of the thresholds, one "max-replica-lag 5 s → 10 s" per threshold. */
export function gateDifferences(from: GateSettings | undefined, to: GateSettings | undefined): string[] {
  const said = GATE_FIELD_NAMES.flatMap((name) => {
    const [before, after] = [gateValue(from, name), gateValue(to, name)];
    return before === after
      ? []
      : [`${kebabCase(name)} ${formatGateValue(name, before)} → ${formatGateValue(name, after)}`];
  });
  const enabled = [from, to].map((gates) => (gates ?? DEFAULT_GATES).enabled);
  return enabled[0] === enabled[1] ? said : [`health gates ${enabled[1] ? 'on' : 'off'}`, ...said];
}

/** A run's thresholds in one line: "max-replica-lag 5 s, …, lock-timeout 2 s", or that the gates are off. */
export function gatesLine(gates: GateSettings | undefined): string {
  if (gates && !gates.enabled) return 'off';
  return GATE_FIELD_NAMES.map((name) => `${kebabCase(name)} ${formatGateValue(name, gateValue(gates, name))}`).join(
    ', ',
  );
}
