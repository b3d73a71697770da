import { writeFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { controlRun, tuneRun, type RunAction } from '../../runbooks/control.js';
import { EXPORT_FORMATS, exportCsv, exportRun, type ExportFormat } from '../../runbooks/exportRun.js';
import { progressText } from '../../runbooks/progressText.js';
import { RunbookRefusal } from '../../runbooks/refusal.js';
import { getRunbook } from '../../runbooks/registry.js';
import {
  auditReason,
  findRetriesOf,
  getRun,
  getRunAuditTrail,
  getRunItems,
  listRuns,
  type RunItemRecord,
  type RunRecord,
} from '../../runbooks/runs.js';
import { failedTenantsOf } from '../../runbooks/retryFailed.js';
import type { StartRequest } from '../../runbooks/validateStart.js';
import { startFromCli } from './startRunbook.js';
import { describeScope } from '../../runbooks/scope.js';
import { withDeps } from '../deps.js';
import { followRun, printFollowed } from '../followRun.js';
import { CLI, withCliHint } from '../hints.js';
import { printable } from '../printable.js';
import { UsageError } from '../../errors.js';
import { cliInitiator } from '../initiator.js';
import { wholeNumber } from '../options.js';
import { printResult } from '../output.js';
import { RUN_STATUSES, type RunGuards, type RunStatus } from '../../runbooks/model.js';
import { inDeclaredOrder, parameterText } from '../../runbooks/parameters.js';

/** `runs show` lists this many tenants; a 10,000-tenant run's full list is for export. */
const SHOWN_ITEMS = 50;

/** The tenants that need a look first: failed, then cancelled, running, pending, succeeded. */
function failedFirst(items: RunItemRecord[]): RunItemRecord[] {
  const rank: Record<RunItemRecord['status'], number> = {
    failed: 0,
    cancelled: 1,
    running: 2,
    pending: 3,
    succeeded: 4,
  };
  return [...items].sort((a, b) => rank[a.status] - rank[b.status] || a.tenantId - b.tenantId);
}

function guardsLine(guards: RunGuards): string | null {
  const parts = [
    guards.maxFailedTenants !== undefined ? `pauses when more than ${guards.maxFailedTenants} tenants fail` : null,
    guards.maxFailedPercent !== undefined ? `pauses when more than ${guards.maxFailedPercent}% of tenants fail` : null,
    guards.canary ? `canary wave of ${guards.canary.count} tenant${guards.canary.count === 1 ? '' : 's'}` : null,
  ].filter(Boolean);
  return parts.length ? `  guards: ${parts.join('; ')}` : null;
}

function exportFormat(raw: string): ExportFormat {
  if (!EXPORT_FORMATS.includes(raw as ExportFormat))
    throw new InvalidArgumentError(`expected one of ${EXPORT_FORMATS.join(', ')}.`);
  return raw as ExportFormat;
}

function runStatus(raw: string): RunStatus {
  if (!RUN_STATUSES.includes(raw as RunStatus))
    throw new InvalidArgumentError(`expected one of ${RUN_STATUSES.join(', ')}.`);
  return raw as RunStatus;
}

const iso = (date: Date | null) => (date ? new Date(date).toISOString() : '-');

function runLine(run: RunRecord): string {
  const status = run.pausedAt ? 'paused' : run.status;
  return [
    run.id,
    iso(run.createdAt),
    status.padEnd(9),
    (run.outcome ?? '-').padEnd(19),
    run.runbook,
    printable(describeScope(run.scope), 200),
  ].join('  ');
}

export function registerRunsCommands(program: Command): void {
  const runs = program.command('runs').description('Inspect and control operation runs');

  runs
    .command('list')
    .description('Runs, newest first')
    .option('--status <status>', `only runs with this status (${RUN_STATUSES.join(', ')})`, runStatus)
    .option('--runbook <name>', 'only runs of this runbook (its CLI name or id)')
    .option('--limit <n>', 'how many', wholeNumber(1, 1000), 20)
    .option('--json', 'print machine-readable JSON')
    .action(async (options: { status?: RunStatus; runbook?: string; limit: number; json?: boolean }) => {
      const runbook = options.runbook === undefined ? undefined : getRunbook(options.runbook).id;
      await withDeps(async ({ database }) => {
        const rows = await listRuns(database.pool, { ...options, runbook });
        printResult(Boolean(options.json), rows, () => (rows.length ? rows.map(runLine).join('\n') : 'No runs.'));
      });
    });

  runs
    .command('show')
    .description('A run: status, counts, per-tenant items and audit trail')
    .argument('<id>', 'the run id')
    .option('--json', 'print machine-readable JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      await withDeps(async ({ database }) => {
        const run = await getRun(database.pool, id);
        if (!run) throw withCliHint(new RunbookRefusal('run_not_found', `No run with id ${printable(id, 80)}.`));
        const [items, audit, retries] = await Promise.all([
          getRunItems(database.pool, run.id),
          getRunAuditTrail(database.pool, run.id),
          findRetriesOf(database.pool, run.id),
        ]);
        printResult(Boolean(options.json), { run, items, audit, retries }, () =>
          [
            `Run ${run.id} — ${run.runbook} on ${printable(describeScope(run.scope))}`,
            `  ${printable(progressText(run, getRunbook(run.runbook).unit))}`,
            `  source ${run.source}, by ${printable(run.initiatorLabel, 200)}: "${printable(run.reason)}"`,
            ...inDeclaredOrder(getRunbook(run.runbook).parameters, run.parameters).map(
              ([name, value]) => `  parameter ${name}: ${printable(parameterText(value), 200)}`,
            ),
            `  as of ${iso(run.asOf)}`,
            `  created ${iso(run.createdAt)}, started ${iso(run.startedAt)}, completed ${iso(run.completedAt)}`,
            run.pausedAt
              ? `  paused since ${iso(run.pausedAt)} by ${printable(run.pausedBy ?? '', 200)}${run.pauseReason ? ` (${printable(run.pauseReason)})` : ''}; resume with: ${CLI} runs resume ${run.id}`
              : null,
            guardsLine(run.guards),
            run.retryOf ? `  retries the failed tenants of run ${run.retryOf}` : null,
            ...retries.map(
              (retry) => `  retried by run ${retry.id} (${retry.status}${retry.outcome ? `, ${retry.outcome}` : ''})`,
            ),
            run.error ? `  error: ${printable(run.error)}` : null,
            `Tenants (${items.length}${items.length > SHOWN_ITEMS ? `, failed first; the first ${SHOWN_ITEMS} shown` : ''}):`,
            ...failedFirst(items)
              .slice(0, SHOWN_ITEMS)
              .map(
                (item) =>
                  `  ${printable(item.externalId, 80).padEnd(16)} ${item.status.padEnd(9)} changed ${item.counts.changed ?? 0} of ${item.counts.examined ?? 0}` +
                  (item.error ? `  error: ${printable(item.error)}` : ''),
              ),
            items.length > SHOWN_ITEMS
              ? `  … and ${items.length - SHOWN_ITEMS} more: ${CLI} runs export ${run.id} (or runs show --json) lists them all`
              : null,
            'Audit trail:',
            ...audit.map((event) => {
              const reason = auditReason(event);
              return `  ${iso(event.occurredAt)}  ${event.action}  ${printable(event.actorLabel ?? event.actorKind, 200)}${reason ? `: "${printable(reason)}"` : ''}`;
            }),
          ]
            .filter((line) => line !== null)
            .join('\n'),
        );
      });
    });

  runs
    .command('follow')
    .description('Follow a run to its end (Ctrl-C stops following, not the run); exit 0 only when it succeeded')
    .argument('<id>', 'the run id')
    .option('--json', 'print machine-readable JSON at the end')
    .action(async (id: string, options: { json?: boolean }) => {
      await withDeps(async (deps) => {
        const run = await getRun(deps.database.pool, id);
        if (!run) throw withCliHint(new RunbookRefusal('run_not_found', `No run with id ${printable(id, 80)}.`));
        printFollowed(
          Boolean(options.json),
          await followRun(deps, run.id, getRunbook(run.runbook).unit),
          getRunbook(run.runbook).unit,
        );
      });
    });

  runs
    .command('export')
    .description('Write a run, its per-tenant items and its audit timeline as CSV or JSON')
    .argument('<id>', 'the run id')
    .option('--format <format>', `one of ${EXPORT_FORMATS.join(', ')}`, exportFormat, 'csv')
    .option('--output <file>', 'write to this file instead of standard output')
    .action(async (id: string, options: { format: ExportFormat; output?: string }) => {
      await withDeps(async ({ database }) => {
        const exported = await exportRun(database.pool, { runId: id, initiator: cliInitiator() }).catch(
          (error: unknown) => {
            throw withCliHint(error);
          },
        );
        const text = options.format === 'csv' ? exportCsv(exported) : `${JSON.stringify(exported, null, 2)}\n`;
        if (!options.output) return void process.stdout.write(text);
        await writeFile(options.output, text).catch((error: NodeJS.ErrnoException) => {
          throw new UsageError(
            `Cannot write ${printable(options.output!, 200)} (${error.code ?? error.message}); choose a writable path.`,
          );
        });
        process.stderr.write(
          `Wrote run ${exported.run.id} (${exported.items.length} items, ${exported.audit.length} audit events) to ${printable(options.output, 200)}.\n`,
        );
      });
    });

  runs
    .command('retry-failed')
    .description('Start a new run over exactly the failed tenants of a run (preflight, then start), linked to it')
    .argument('<id>', 'the run whose failed tenants to retry')
    .requiredOption('--reason <text>', 'why (10–500 characters)')
    .option('--idempotency-key <key>', 'the same key and parameters return the existing run')
    .option('--wait', 'follow the new run to its end; exit 0 only when it succeeded')
    .option('--json', 'print machine-readable JSON')
    .action(
      async (id: string, options: { reason: string; idempotencyKey?: string; wait?: boolean; json?: boolean }) => {
        await withDeps(async (deps) => {
          const { run, scope } = await failedTenantsOf(deps.database.pool, id).catch((error: unknown) => {
            throw withCliHint(error);
          });
          const request: StartRequest = {
            runbook: run.runbook,
            scope,
            parameters: run.parameters,
            initiator: cliInitiator(),
            reason: options.reason,
            source: 'cli',
            idempotencyKey: options.idempotencyKey ?? null,
            retryOf: run.id,
          };
          await startFromCli(deps, request, options);
        });
      },
    );

  runs
    .command('tune')
    .description(
      "Change a running run's child parallelism (1–64) and batch size (50–50,000); new children and batches use them",
    )
    .argument('<id>', 'the run id')
    .option('--parallelism <n>', 'tenant workflows at once', wholeNumber(0))
    .option('--batch-size <n>', 'rows per batch statement', wholeNumber(0))
    .requiredOption('--reason <text>', 'why (10–500 characters)')
    .option('--json', 'print machine-readable JSON')
    .action(
      async (id: string, options: { parallelism?: number; batchSize?: number; reason: string; json?: boolean }) => {
        await withDeps(async ({ database, launcher }) => {
          const tuned = await tuneRun(
            { pool: database.pool, launcher },
            {
              runId: id,
              initiator: cliInitiator(),
              source: 'cli',
              parallelism: options.parallelism,
              batchSize: options.batchSize,
              reason: options.reason,
            },
          ).catch((error: unknown) => {
            throw withCliHint(error);
          });
          printResult(
            Boolean(options.json),
            tuned,
            () =>
              `Run ${id}: parallelism ${tuned.from.parallelism} → ${tuned.to.parallelism}, batch size ${tuned.from.batchSize} → ${tuned.to.batchSize}.`,
          );
        });
      },
    );

  const actions: Array<[RunAction, string]> = [
    ['cancel', 'Cancel a queued or running run (its tenants stop; the run completes as cancelled)'],
    ['pause', 'Pause a multi-tenant run: running tenants finish, no new tenant starts'],
    ['resume', 'Resume a paused multi-tenant run'],
  ];
  for (const [action, description] of actions) {
    runs
      .command(action)
      .description(description)
      .argument('<id>', 'the run id')
      .option('--reason <text>', 'why (10–500 characters); audited, and shown on a paused run')
      .option('--json', 'print machine-readable JSON')
      .action(async (id: string, options: { reason?: string; json?: boolean }) => {
        await withDeps(async ({ database, launcher }) => {
          const run = await controlRun(
            { pool: database.pool, launcher },
            { runId: id, initiator: cliInitiator(), source: 'cli', reason: options.reason },
            action,
          ).catch((error: unknown) => {
            throw withCliHint(error);
          });
          printResult(
            Boolean(options.json),
            { runId: run.id, action },
            () => `Asked run ${run.id} to ${action}. Follow it with: ${CLI} runs follow ${run.id}`,
          );
        });
      });
  }
}
