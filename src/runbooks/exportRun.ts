import type pg from 'pg';
import { recordAudit } from '../audit/recordAudit.js';
import { CAPABILITIES, requireCapability } from './capabilities.js';
import { auditActor, type Initiator, type RequestContext } from './initiator.js';
import { RunbookRefusal } from './refusal.js';
import {
  getRun,
  getRunAuditTrail,
  getRunItems,
  type AuditTrailEntry,
  type RunItemRecord,
  type RunRecord,
} from './runs.js';

export interface RunExport {
  run: RunRecord;
  items: RunItemRecord[];
  audit: AuditTrailEntry[];
}

/** A run, its items and its audit timeline, for an operator to keep or hand on; audited. */
export async function exportRun(
  pool: pg.Pool,
  request: { runId: string; initiator: Initiator; context?: RequestContext },
): Promise<RunExport> {
  requireCapability(request.initiator, CAPABILITIES.runsView, 'export a run');
  const run = await getRun(pool, request.runId);
  if (!run) throw new RunbookRefusal('run_not_found', `No run with id ${request.runId}.`);
  const [items, audit] = await Promise.all([getRunItems(pool, run.id), getRunAuditTrail(pool, run.id)]);
  await recordAudit(pool, {
    ...auditActor(request.initiator, request.context),
    action: 'runbook.exported',
    targetKind: 'operation_run',
    targetId: run.id,
    metadata: { items: items.length, audit: audit.length },
  });
  return { run, items, audit };
}

const CSV_COLUMNS = ['record', 'at', 'tenant', 'status', 'examined', 'changed', 'action', 'actor', 'detail'] as const;

/**
 * A cell as a spreadsheet may safely open it: a leading = + - @ (or tab, carriage return), also
 * after spaces or line breaks, which spreadsheets skip, would make it a formula, so such cells
 * get a leading apostrophe; quoting per RFC 4180.
 */
export function csvCell(value: unknown): string {
  let text =
    value === null || value === undefined
      ? ''
      : value instanceof Date
        ? value.toISOString()
        : typeof value === 'string'
          ? value
          : JSON.stringify(value);
  if (/^\s*[=+\-@]|^[\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const iso = (date: Date | null) => (date ? new Date(date).toISOString() : '');

/** One table for both: the run and its parameters, one row per tenant item, then one row per audit event. */
export function exportCsv({ run, items, audit }: RunExport): string {
  const rows: unknown[][] = [
    [
      'run',
      iso(run.createdAt),
      '',
      run.outcome ?? run.status,
      run.counts.examined ?? 0,
      run.counts.changed ?? 0,
      '',
      run.initiatorLabel,
      run.reason,
    ],
    // What the run was asked for: its parameters, at its instant.
    ['parameters', iso(run.asOf), '', '', '', '', '', '', JSON.stringify(run.parameters)],
    ...items.map((item) => [
      'item',
      iso(item.completedAt ?? item.startedAt),
      item.externalId,
      item.status,
      item.counts.examined ?? 0,
      item.counts.changed ?? 0,
      '',
      '',
      item.error ?? '',
    ]),
    ...audit.map((event) => [
      'audit',
      iso(event.occurredAt),
      '',
      '',
      '',
      '',
      event.action,
      event.actorLabel ?? event.actorKind,
      JSON.stringify(event.metadata),
    ]),
  ];
  return [CSV_COLUMNS, ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}
