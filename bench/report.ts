import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';
import type { ConsoleFigures } from './consoleLoad.js';
import type { Dataset, Template } from './databases.js';
import type { NaivePeerFigures } from './naivePeer.js';
import type { OrchestrationFigures, TinyRunFigures } from './orchestration.js';
import type { MachineLimit, PhysicalLimit } from './physicalLimit.js';
import type { PreflightFigures } from './preflight.js';
import { round, type Profile } from './profile.js';
import type { GatesCost, SizingFigures, SizingKind } from './runAgain.js';
import type { RunbookFigures } from './runbookRun.js';
import type { ScaleOutFigures } from './scaleOut.js';

export interface Machine {
  cores: number;
  cpu: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  postgres: string;
  temporalCli: string;
  /** 1-minute load average when the bench began: other work on a shared machine shows here. */
  loadAverageAtStart: number;
}

export function machineFacts(postgres: string, temporalBinary: string): Machine {
  let temporalCli = 'unknown';
  try {
    temporalCli = execFileSync(temporalBinary, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // Reported as unknown; the figures do not depend on it.
  }
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    kernel: release(),
    node: process.version,
    postgres,
    temporalCli,
    loadAverageAtStart: round(loadavg()[0] ?? 0),
  };
}

export interface Target {
  item: number;
  figure: string;
  value: number | boolean;
  target: string;
  met: boolean;
}

export interface BenchResults {
  date: string;
  quick: boolean;
  durationSeconds: number;
  machine: Machine;
  dataset: Dataset & {
    template: string;
    reused: boolean;
    seedSeconds: number | null;
    findings: number;
    detections: number;
    events: number;
  };
  physicalLimit: PhysicalLimit;
  machineLimit: MachineLimit;
  runbook: RunbookFigures & {
    identicalToPhysical: { rowsCompared: number };
    /** Run time over the machine's limit (item 1b). */
    ratioToMachine: number;
    gates: GatesCost;
    /** Item 2c: the other batch sizing, then item 2's again, back to back (auto against the tuned constant). */
    sizing: SizingFigures;
  };
  naivePeer: NaivePeerFigures & { runbookSpeedup: number; identicalToRunbook: { rowsCompared: number } };
  preflight: PreflightFigures;
  orchestration: OrchestrationFigures;
  scaleOut: ScaleOutFigures;
  memory: {
    runbookWorkerPeakRssMiB: number;
    runbookWorkerPeakRssMB: number;
    /** The same worker's peak when it began to poll, before any run: start-up alone. */
    runbookWorkerPeakAtReadyMiB: number | null;
    runbookWorkerRssAfterRunMiB: number;
    scaleOutWorkersPeakRssMiB: number[];
  };
  console: ConsoleFigures;
  targets: Target[];
}

export function datasetOf(dataset: Dataset, template: Template): BenchResults['dataset'] {
  return {
    ...dataset,
    template: template.name,
    reused: !template.seededNow,
    seedSeconds: template.seedSeconds === null ? null : round(template.seedSeconds, 1),
    findings: template.findings,
    detections: template.detections,
    events: template.events,
  };
}

const MIB_TO_MB = 2 ** 20 / 1e6;

export function mebibytesToMegabytes(mib: number): number {
  return Math.round(mib * MIB_TO_MB);
}

/** The issue's targets, each against this run's figure. */
export function targetsOf(r: Omit<BenchResults, 'targets'>): Target[] {
  const list = r.console.results.find((result) => result.name === 'runs list');
  // The progress poll, or the run page where the console has no poll (the script says which).
  const poll = r.console.results.find((result) => result.name !== 'runs list');
  const floorNote = ` (floor: sign-in page ${r.console.floor.latencyMs.p99})`;
  const answered = (f: typeof list) => Boolean(f && f.non2xx === 0 && f.errors === 0);
  return [
    {
      item: 2,
      figure: 'run / physical',
      value: r.runbook.ratioToPhysical,
      target: '≤ 1.0',
      met: r.runbook.ratioToPhysical <= 1.0,
    },
    {
      item: 1,
      figure: "run / the machine's limit (1b, gates on)",
      value: r.runbook.ratioToMachine,
      target: '≤ 1.1',
      met: r.runbook.ratioToMachine <= 1.1,
    },
    {
      item: 2,
      figure: 'health gates: run with / without',
      value: r.runbook.gates.cost,
      target: '≤ 1.05',
      met: r.runbook.gates.cost <= 1.05,
    },
    {
      item: 2,
      figure: `batch sizing: auto / fixed ${r.runbook.sizing.fixed.batchSize.toLocaleString('en-US')} (2c, back to back)`,
      value: r.runbook.sizing.autoOverFixed,
      target: '≤ 1.05',
      met: r.runbook.sizing.autoOverFixed <= 1.05,
    },
    {
      item: 2,
      figure: 'end-to-end / physical',
      value: r.runbook.endToEnd.ratioToPhysical,
      target: '≤ 1.3',
      met: r.runbook.endToEnd.ratioToPhysical <= 1.3,
    },
    {
      item: 3,
      figure: 'runbook / naive peer (speed)',
      value: r.naivePeer.runbookSpeedup,
      target: '≥ 30',
      met: r.naivePeer.runbookSpeedup >= 30,
    },
    {
      item: 4,
      figure: 'preflight / raw count',
      value: r.preflight.ratioToRawCount,
      target: '≤ 1.5',
      met: r.preflight.ratioToRawCount <= 1.5,
    },
    {
      item: 5,
      figure: 'tiny tenants/s, file-backed',
      value: r.orchestration.fileBacked.tenantsPerSecond,
      target: `≥ 50 (the server's ceiling: ${r.orchestration.serverCeiling.childrenPerSecond})`,
      met: r.orchestration.fileBacked.tenantsPerSecond >= 50,
    },
    {
      item: 6,
      figure: 'two workers / one worker',
      value: r.scaleOut.speedup,
      target: '≥ 1.6 (if worker-bound)',
      met: r.scaleOut.speedup >= 1.6,
    },
    {
      item: 6,
      figure: 'largest parent history (events)',
      value: r.scaleOut.maxParentHistoryEvents,
      target: `< ${r.scaleOut.historyWarningEvents.toLocaleString('en-US')}`,
      met: r.scaleOut.maxParentHistoryEvents < r.scaleOut.historyWarningEvents,
    },
    {
      item: 6,
      figure: 'both workers took work',
      value: r.scaleOut.bothWorkersTookWork,
      target: 'yes',
      met: r.scaleOut.bothWorkersTookWork,
    },
    {
      item: 7,
      figure: 'worker peak RSS (MB)',
      value: r.memory.runbookWorkerPeakRssMB,
      target: '≤ 250',
      met: r.memory.runbookWorkerPeakRssMB <= 250,
    },
    {
      item: 8,
      figure: 'runs list p99 (ms)',
      value: list?.latencyMs.p99 ?? NaN,
      target: `≤ 50, all 2xx${floorNote}`,
      met: answered(list) && list!.latencyMs.p99 <= 50,
    },
    {
      item: 8,
      figure: 'run poll p99 (ms)',
      value: poll?.latencyMs.p99 ?? NaN,
      target: `≤ 30, all 2xx${floorNote}`,
      met: answered(poll) && poll!.latencyMs.p99 <= 30,
    },
  ];
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const n = (value: number, digits = 0) =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const s = (seconds: number) => `${n(seconds, seconds < 10 ? 2 : 1)} s`;

function busy(profile: Profile): string {
  const { machine, postgres, temporal, bench, ...groups } = profile.cores;
  const parts = [
    `pg ${postgres ?? '?'}`,
    ...Object.entries(groups).map(([label, cores]) => `${label} ${cores ?? '?'}`),
    temporal !== null ? `temporal ${temporal}` : '',
    `bench ${bench ?? '?'}`,
    `machine ${machine ?? '?'}`,
  ];
  const waits = Object.entries(profile.backends.waiting)
    .filter(([, v]) => v >= 0.05)
    .map(([type, v]) => `${type} ${v}`);
  return `cores: ${parts.filter(Boolean).join(', ')}; backends on CPU ${profile.backends.onCpu}, idle ${profile.backends.idle}${waits.length ? `, waiting ${waits.join(', ')}` : ''}`;
}

function tiny(f: TinyRunFigures): string {
  const t = f.perTenant;
  return (
    `${n(f.tenantsPerSecond, 1)} tenants/s; per tenant ${t.activities} activities + ${t.workflowTasks} workflow tasks in ${n(t.meanWallMs)} ms ` +
    `(${t.meanRoundTripMs} ms each); parent busy ${Math.round(f.parent.busyShare * 100)}% of the run`
  );
}

const duration = (ms: number) => (ms < 1_000 ? `${ms} ms` : `${n(ms / 1_000, ms % 1_000 ? 1 : 0)} s`);

/** "batch auto (1 s)" or "batch 2000": how item 2 sized its batches (the environment's). */
function batchSetting(settings: RunbookFigures['settings']): string {
  return settings.batchTargetMs === null
    ? `batch ${settings.batchSize}`
    : `batch auto (${duration(settings.batchTargetMs)})`;
}

/** Item 2c: auto against the fixed size, back to back, whichever item 2 ran. */
function sizingRow(z: SizingFigures): string[] {
  const fixed = `fixed ${n(z.fixed.batchSize)}`;
  const auto = `auto (${duration(z.auto.targetMs)})`;
  const label = (kind: SizingKind) => (kind === 'auto' ? auto : fixed);
  const side = (kind: SizingKind) =>
    kind === 'auto'
      ? `${auto} ${s(z.auto.seconds)} (ratio ${z.auto.ratioToPhysical})`
      : `${fixed} ${s(z.fixed.seconds)} (ratio ${z.fixed.ratioToPhysical})`;
  const i = z.auto.items;
  return [
    '2c',
    `the same run, ${label(z.pair.order[0])} then ${label(z.pair.order[1])}, back to back`,
    `${z.pair.order.map(side).join(', then ')}: auto / fixed ${z.autoOverFixed}×; item 2 itself (${z.item2}, earlier) ${s(z.item2Seconds)}`,
    `auto: final size ${n(z.auto.finalSize)} rows, per tenant median ${n(i.medianFinalSize)} (${n(i.minFinalSize)}–${n(i.maxFinalSize)}) over ${i.items}, ` +
      `${i.medianMsPerRow ?? '?'} ms/row; changes grow ${i.changes.grow}, shrink ${i.changes.shrink}, split ${i.changes.split}; ` +
      `${n(z.auto.batches)} batches against ${n(z.fixed.batches)}`,
  ];
}

/** The terminal's table: every figure and ratio, then the targets. */
export function formatResults(r: BenchResults): string {
  const rb = r.runbook;
  const split = rb.split;
  const o = r.orchestration;
  const so = r.scaleOut;
  const figures = [
    ['#', 'measurement', 'figure', 'profile'],
    [
      '1',
      'physical limit (one statement)',
      `${s(r.physicalLimit.seconds)}, ${n(r.physicalLimit.findingsPerSecond)} findings/s, ${n(r.physicalLimit.changed)} changed`,
      busy(r.physicalLimit.profile),
    ],
    [
      '1b',
      `the machine's limit (${r.machineLimit.ways} statements at once)`,
      `${s(r.machineLimit.seconds)}, ${n(r.machineLimit.findingsPerSecond)} findings/s`,
      '',
    ],
    [
      '2',
      'runbook run (start → completed)',
      `${s(rb.seconds)}, ${n(rb.findingsPerSecond)} findings/s, ratio ${rb.ratioToPhysical}, ${rb.ratioToMachine} of 1b`,
      busy(rb.profile),
    ],
    ['2b', 'the same run with the health gates off', `${s(rb.gates.offSeconds)}: the gates cost ${rb.gates.cost}×`, ''],
    sizingRow(rb.sizing),
    [
      '2',
      'end to end (precheck + preflight + run)',
      `${s(rb.endToEnd.seconds)}, ratio ${rb.endToEnd.ratioToPhysical}`,
      '',
    ],
    [
      '2',
      'time split',
      `preflight ${s(split.preflight)}, drift check ${s(split.driftCheck)} (start ${s(split.start)}), batches ${s(split.batches)}, verification ${s(split.verification)}, orchestration ${s(split.orchestration)}`,
      `slots ${Math.round(rb.slotOccupancy * 100)}% occupied`,
    ],
    ['2', 'identical to the physical limit', `${n(rb.identicalToPhysical.rowsCompared)} findings compared`, ''],
    [
      '3',
      'naive peer (per row)',
      `${n(r.naivePeer.findingsPerSecond)} findings/s over ${n(r.naivePeer.findings)}; runbook ${r.naivePeer.runbookSpeedup}× faster`,
      busy(r.naivePeer.profile),
    ],
    [
      '4',
      'preflight vs raw count',
      `${s(r.preflight.preflightSeconds)} vs ${s(r.preflight.rawCount.seconds)}, ratio ${r.preflight.ratioToRawCount}`,
      `counts ${s(r.preflight.parts.counts)}, fingerprints ${s(r.preflight.parts.fingerprints)}, rest ${s(r.preflight.parts.rest)}; drift check ${s(r.preflight.driftCheckSeconds)}, one tenant moved ${s(r.preflight.driftCheckOneTenantMovedSeconds)}`,
    ],
    [
      '5',
      `orchestration, in-memory (${n(o.tenants)} × ${o.findingsPerTenant})`,
      tiny(o.inMemory),
      busy(o.inMemory.profile),
    ],
    ['5', 'orchestration, file-backed', tiny(o.fileBacked), busy(o.fileBacked.profile)],
    [
      '5',
      `server ceiling, file-backed (${n(o.serverCeiling.children)} empty children, ${o.serverCeiling.childParallelism} at once)`,
      `${n(o.serverCeiling.childrenPerSecond, 1)} children/s; the tiny tenants reach ${Math.round(o.shareOfCeiling * 100)}% of it`,
      '',
    ],
    [
      '6',
      `scale-out, file-backed, continue-as-new at ${so.continueAsNewAfter}`,
      `1 worker ${n(so.oneWorker.tenantsPerSecond, 1)}, 2 workers ${n(so.twoWorkers.tenantsPerSecond, 1)} tenants/s (${so.speedup}×); parent busy ${Math.round(so.twoWorkers.parent.busyShare * 100)}%`,
      busy(so.twoWorkers.profile),
    ],
    ['6', 'parent history per continuation', so.parentHistoryEvents.map((e) => n(e)).join(', ') + ' events', ''],
    [
      '6',
      'work per worker (activities / workflow tasks)',
      so.byWorker.map((w) => `${w.name} ${n(w.activities)} / ${n(w.workflowTasks)}`).join('; '),
      '',
    ],
    [
      '7',
      'worker peak RSS during item 2',
      `${n(r.memory.runbookWorkerPeakRssMiB)} MiB (${n(r.memory.runbookWorkerPeakRssMB)} MB); at start-up ${r.memory.runbookWorkerPeakAtReadyMiB ?? '?'} MiB, after the run ${r.memory.runbookWorkerRssAfterRunMiB} MiB`,
      `scale-out workers' peaks: ${r.memory.scaleOutWorkersPeakRssMiB.join(', ')} MiB`,
    ],
    ...[...r.console.results, r.console.floor].map((u) => [
      '8',
      `console ${u.name} (${n(r.console.runs)} runs, ${r.console.connections} conn.)`,
      `${n(u.requestsPerSecond)} req/s, p50 ${u.latencyMs.p50} ms, p99 ${u.latencyMs.p99} ms`,
      [
        u.writes ? `${n(u.writes)} progress writes meanwhile` : '',
        u.non2xx || u.errors ? `${u.non2xx} non-2xx, ${u.errors} errors` : '',
        r.console.profile && u === r.console.results[0] ? busy(r.console.profile) : '',
      ]
        .filter(Boolean)
        .join('; '),
    ]),
  ];
  const targets = [
    ['#', 'target', 'value', 'wanted', ''],
    ...r.targets.map((t) => [String(t.item), t.figure, String(t.value), t.target, t.met ? 'met' : 'MISSED']),
  ];
  const m = r.machine;
  return [
    `${r.date}: ${m.cores} cores (${m.cpu}), PostgreSQL ${m.postgres}, ${m.temporalCli.split('\n')[0]}, Node ${m.node}; load ${m.loadAverageAtStart} at start`,
    `dataset ${n(r.dataset.tenants)} tenants × ${n(r.dataset.findingsPerTenant)} findings (${n(r.dataset.findings)} findings, ${n(r.dataset.detections)} detections, ${n(r.dataset.events)} events)${r.quick ? ', quick' : ''}; ` +
      `${batchSetting(rb.settings)}, ${rb.settings.childParallelism} tenants at once`,
    '',
    table(figures),
    '',
    table(targets),
  ].join('\n');
}

/** Writes the results as JSON under bench/results/ (git-ignored) or `BENCH_RESULTS_DIR`; returns the file. */
export function writeResults(r: BenchResults): string {
  return writeResultsFile(
    `${r.date.replace(/[:.]/g, '-')}_t${r.dataset.tenants}_f${r.dataset.findingsPerTenant}${r.quick ? '_quick' : ''}.json`,
    r,
  );
}

/** A bench's results as JSON under bench/results/ (or BENCH_RESULTS_DIR); returns the file. */
export function writeResultsFile(name: string, results: unknown): string {
  const dir = process.env.BENCH_RESULTS_DIR || join(PROJECT_ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}
