import { InvalidArgumentError, type Command } from 'commander';
import { UserError } from '../../errors.js';
import { controlRun, type RunAction } from '../../runbooks/control.js';
import { progressText } from '../../runbooks/progressText.js';
import { getRunbook } from '../../runbooks/registry.js';
import { RUN_STATUSES, type RunStatus } from '../../runbooks/runStatus.js';
import { getRun, getRunAuditTrail, getRunItems, listRuns, type RunRecord } from '../../runbooks/runs.js';
import { describeScope } from '../../runbooks/scope.js';
import { withDeps } from '../deps.js';
import { followRun, printFollowed } from '../followRun.js';
import { LIST_HINT, withCliHint } from '../hints.js';
import { cliInitiator } from '../initiator.js';
import { wholeNumber } from '../options.js';
import { printResult } from '../output.js';

function runStatus(raw: string): RunStatus {
  if (!RUN_STATUSES.includes(raw as RunStatus)) throw new InvalidArgumentError(`expected one of ${RUN_STATUSES.join(', ')}.`);
  return raw as RunStatus;
}

const iso = (date: Date | null) => (date ? new Date(date).toISOString() : '-');

function runLine(run: RunRecord): string {
  return [run.id, iso(run.createdAt), run.status.padEnd(9), (run.outcome ?? '-').padEnd(19), run.runbook, describeScope(run.scope)].join('  ');
}

export function registerRunsCommands(program: Command): void {
  const runs = program.command('runs').description('Inspect and control operation runs');

  runs
    .command('list')
    .description('Runs, newest first')
    .option('--status <status>', `only runs with this status (${RUN_STATUSES.join(', ')})`, runStatus)
    .option('--runbook <id>', 'only runs of this runbook id')
    .option('--limit <n>', 'how many', wholeNumber(1, 1000), 20)
    .option('--json', 'print machine-readable JSON')
    .action(async (options: { status?: RunStatus; runbook?: string; limit: number; json?: boolean }) => {
      await withDeps(async ({ database }) => {
        const rows = await listRuns(database.pool, options);
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
        if (!run) throw new UserError(`No run with id ${id}. ${LIST_HINT}`);
        const [items, audit] = await Promise.all([getRunItems(database.pool, run.id), getRunAuditTrail(database.pool, run.id)]);
        printResult(Boolean(options.json), { run, items, audit }, () =>
          [
            `Run ${run.id} — ${run.runbook} on ${describeScope(run.scope)}`,
            `  ${progressText(run)}`,
            `  source ${run.source}, by ${run.initiatorLabel}: "${run.reason}"`,
            `  created ${iso(run.createdAt)}, started ${iso(run.startedAt)}, completed ${iso(run.completedAt)}`,
            run.pausedAt ? `  paused since ${iso(run.pausedAt)} by ${run.pausedBy}; resume with: tsx src/cli runs resume ${run.id}` : null,
            run.error ? `  error: ${run.error}` : null,
            `Tenants (${items.length}):`,
            ...items.map(
              (item) =>
                `  ${item.externalId.padEnd(16)} ${item.status.padEnd(9)} changed ${item.counts.changed ?? 0} of ${item.counts.examined ?? 0}` +
                (item.error ? `  error: ${item.error}` : ''),
            ),
            'Audit trail:',
            ...audit.map((event) => `  ${iso(event.occurredAt)}  ${event.action}  ${event.actorLabel ?? event.actorKind}`),
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
        if (!run) throw new UserError(`No run with id ${id}. ${LIST_HINT}`);
        printFollowed(Boolean(options.json), await followRun(deps, run.id, getRunbook(run.runbook).unit), getRunbook(run.runbook).unit);
      });
    });

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
      .option('--json', 'print machine-readable JSON')
      .action(async (id: string, options: { json?: boolean }) => {
        await withDeps(async ({ database, temporal }) => {
          const run = await controlRun(
            { pool: database.pool, temporal: await temporal() },
            { runId: id, initiator: cliInitiator(), source: 'cli' },
            action,
          ).catch((error: unknown) => {
            throw withCliHint(error);
          });
          printResult(Boolean(options.json), { runId: run.id, action }, () => `Asked run ${run.id} to ${action}.`);
        });
      });
  }
}
