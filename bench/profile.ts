import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';

/**
 * What a measured phase kept busy: CPU per process group (from /proc, in cores: CPU seconds per
 * second of wall time) and what PostgreSQL's backends of the measured database were doing,
 * sampled from pg_stat_activity. Linux only; elsewhere the CPU figures are null.
 */
export interface Profile {
  wallSeconds: number;
  /** Machine-wide, PostgreSQL's processes, this bench's dev servers, itself, and each named group of `processes`. */
  cores: { machine: number | null; postgres: number | null; temporal: number | null; bench: number | null } & Record<
    string,
    number | null
  >;
  /** Backends of the measured database, averaged over the samples. */
  backends: {
    samples: number;
    /** Running a statement and not waiting: on a CPU (or on the run queue for one). */
    onCpu: number;
    /** Running a statement and waiting, by wait event type (IO, LWLock, Lock, ...). */
    waiting: Record<string, number>;
    /** Idle between statements, in or out of a transaction: waiting for its client. */
    idle: number;
  };
}

/** Linux's USER_HZ, the unit of /proc/<pid>/stat times, is 100 on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;
const SAMPLE_MS = 200;

function readTicks(pid: number): { comm: string; ticks: number; cmdline: string } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may hold spaces; the fields after it are space-separated.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    // utime and stime (fields 14-15); for PostgreSQL also cutime and cstime, which count the
    // backends that exited during the phase (their postmaster reaped them). Elsewhere reaped
    // children would count twice: this bench reaps the processes it starts.
    const ticks = (comm === 'postgres' ? [11, 12, 13, 14] : [11, 12]).reduce((sum, i) => sum + Number(fields[i]), 0);
    return { comm, ticks, cmdline: comm === 'temporal' ? readFileSync(`/proc/${pid}/cmdline`, 'utf8') : '' };
  } catch {
    return null;
  }
}

interface CpuSnapshot {
  machineBusy: number;
  postgres: number;
  temporal: number;
  bench: number;
  groups: Record<string, number>;
}

function machineBusyTicks(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: everything but idle and iowait is busy.
  return line.slice(0, 8).reduce((sum, value, i) => (i === 3 || i === 4 ? sum : sum + value), 0);
}

function snapshot(processes: Record<string, readonly number[]>, temporalPorts: readonly number[]): CpuSnapshot | null {
  let pids: number[];
  try {
    pids = readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return null;
  }
  const totals: CpuSnapshot = { machineBusy: machineBusyTicks(), postgres: 0, temporal: 0, bench: 0, groups: {} };
  const groupOf = new Map(
    Object.entries(processes).flatMap(([label, group]) => group.map((pid) => [pid, label] as const)),
  );
  for (const label of Object.keys(processes)) totals.groups[label] = 0;
  for (const pid of pids) {
    const proc = readTicks(pid);
    if (!proc) continue;
    const label = groupOf.get(pid);
    if (proc.comm === 'postgres') totals.postgres += proc.ticks;
    // Only this bench's dev servers: a test run may have its own on the machine.
    else if (proc.comm === 'temporal' && temporalPorts.some((port) => proc.cmdline.includes(`\0${port}\0`)))
      totals.temporal += proc.ticks;
    else if (label) totals.groups[label]! += proc.ticks;
    else if (pid === process.pid) totals.bench += proc.ticks;
  }
  return totals;
}

export interface ProfileTarget {
  /** The PostgreSQL server (any database) and the database whose backends are sampled. */
  serverUrl: string;
  database: string;
  /** Processes whose CPU is reported apart, by label (`workers`, `console`). */
  processes?: Record<string, readonly number[]>;
  temporalPorts?: readonly number[];
}

/** Starts profiling; `stop()` ends it and returns the profile. */
export async function startProfile(target: ProfileTarget): Promise<{ stop(): Promise<Profile> }> {
  const processes = target.processes ?? {};
  const temporalPorts = target.temporalPorts ?? [];
  const client = new pg.Client({ connectionString: target.serverUrl });
  await client.connect();
  const counts = { samples: 0, onCpu: 0, idle: 0, waiting: {} as Record<string, number> };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const { rows } = await client.query<{ state: string | null; wait: string | null }>(
        `SELECT state, wait_event_type AS wait FROM pg_stat_activity
          WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()`,
        [target.database],
      );
      counts.samples++;
      for (const row of rows) {
        if (row.state === 'active' && row.wait === null) counts.onCpu++;
        else if (row.state === 'active') counts.waiting[row.wait!] = (counts.waiting[row.wait!] ?? 0) + 1;
        else if (row.state?.startsWith('idle')) counts.idle++;
      }
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
    }
  })();
  const before = snapshot(processes, temporalPorts);
  const started = performance.now();
  return {
    async stop() {
      const after = snapshot(processes, temporalPorts);
      const wallSeconds = (performance.now() - started) / 1000;
      sampling = false;
      await sampler.finally(() => client.end());
      const perSample = (n: number) => (counts.samples ? round(n / counts.samples) : 0);
      const cores = (pick: (s: CpuSnapshot) => number) =>
        before && after ? round((pick(after) - pick(before)) / TICKS_PER_SECOND / wallSeconds) : null;
      return {
        wallSeconds: round(wallSeconds),
        cores: {
          machine: cores((s) => s.machineBusy),
          postgres: cores((s) => s.postgres),
          temporal: temporalPorts.length ? cores((s) => s.temporal) : null,
          bench: cores((s) => s.bench),
          ...Object.fromEntries(Object.keys(processes).map((label) => [label, cores((s) => s.groups[label] ?? 0)])),
        },
        backends: {
          samples: counts.samples,
          onCpu: perSample(counts.onCpu),
          waiting: Object.fromEntries(Object.entries(counts.waiting).map(([type, n]) => [type, perSample(n)])),
          idle: perSample(counts.idle),
        },
      };
    },
  };
}

export function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Runs `work` under a profile. */
export async function profiled<T>(
  target: ProfileTarget,
  work: () => Promise<T>,
): Promise<{ result: T; profile: Profile }> {
  const profiler = await startProfile(target);
  try {
    const result = await work();
    return { result, profile: await profiler.stop() };
  } catch (error) {
    await profiler.stop().catch(() => {});
    throw error;
  }
}
