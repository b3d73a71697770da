import { asc, eq } from 'drizzle-orm';
import type pg from 'pg';
import { recordAudit } from '../../audit/recordAudit.js';
import { orm, type Connection } from '../../db/orm.js';
import { changeWindows } from '../../db/schema/index.js';
import { CAPABILITIES, requireCapability } from '../capabilities.js';
import { auditActor, initiatorLabel, type Initiator, type RequestContext } from '../initiator.js';
import { RunbookRefusal } from '../refusal.js';
import { getRunbook } from '../registry.js';
import { validText } from '../validateStart.js';
import { scheduleProblem } from './windowSchedule.js';

export type ChangeWindowRecord = typeof changeWindows.$inferSelect;

/** A window as an operator defines it; runbooks by CLI name or id. */
export interface WindowDefinition {
  kind: string;
  schedule: string;
  durationMinutes: number;
  timeZone: string;
  cutoffMinutes?: number;
  runbooks?: string[];
  description: string;
}

/** A window lasts at most a week: a longer freeze is a window that opens again. */
const MAX_DURATION_MINUTES = 7 * 24 * 60;

export async function listChangeWindows(q: Connection): Promise<ChangeWindowRecord[]> {
  return orm(q).select().from(changeWindows).orderBy(asc(changeWindows.id));
}

function invalid(message: string): RunbookRefusal {
  return new RunbookRefusal('invalid_window', message);
}

const wholeMinutes = (value: number, name: string, min: number, max: number) => {
  if (!Number.isInteger(value) || value < min || value > max)
    throw invalid(`The ${name} must be a whole number of minutes from ${min} to ${max}; it is ${value}.`);
  return value;
};

/** The definition checked and made canonical, or the refusal that says what is wrong. */
function checkedWindow(
  definition: WindowDefinition,
  minuteMs: number,
): Omit<typeof changeWindows.$inferInsert, 'createdBy'> {
  if (definition.kind !== 'allow' && definition.kind !== 'deny')
    throw invalid(`A window is "allow" or "deny", not "${definition.kind.slice(0, 50)}".`);
  const schedule = definition.schedule.trim();
  const timeZone = definition.timeZone.trim();
  const durationMinutes = wholeMinutes(definition.durationMinutes, 'duration', 1, MAX_DURATION_MINUTES);
  const problem = scheduleProblem({ schedule, timeZone, durationMinutes }, minuteMs);
  if (problem) throw invalid(`${problem}.`);
  // An allow window's cutoff comes before its end; a deny window's, before it opens.
  const cutoffMax = definition.kind === 'allow' ? durationMinutes - 1 : 24 * 60;
  const cutoffMinutes = wholeMinutes(definition.cutoffMinutes ?? 0, 'cutoff', 0, cutoffMax);
  const runbooks = definition.runbooks?.length
    ? [...new Set(definition.runbooks.map((name) => getRunbook(name.trim()).id))]
    : null;
  const description = validText(definition.description, {
    name: 'description',
    code: 'invalid_window',
    hint: 'Say what the window is for.',
  });
  return { kind: definition.kind, schedule, durationMinutes, timeZone, cutoffMinutes, runbooks, description };
}

/** Defines a window (`platform.ops.windows.manage`); audited. */
export async function createChangeWindow(
  pool: pg.Pool,
  request: { initiator: Initiator; context?: RequestContext; window: WindowDefinition; minuteMs?: number },
): Promise<ChangeWindowRecord> {
  requireCapability(request.initiator, CAPABILITIES.windowsManage, 'define change windows');
  const values = checkedWindow(request.window, request.minuteMs ?? 60_000);
  const [created] = await orm(pool)
    .insert(changeWindows)
    .values({ ...values, createdBy: initiatorLabel(request.initiator) })
    .returning();
  await recordAudit(pool, {
    ...auditActor(request.initiator, request.context),
    action: 'change_window.created',
    targetKind: 'change_window',
    targetId: String(created!.id),
    metadata: { ...values },
  });
  return created!;
}

/** Deletes a window (`platform.ops.windows.manage`); audited with what it was. Runs waiting for it look again within a minute. */
export async function deleteChangeWindow(
  pool: pg.Pool,
  request: { initiator: Initiator; context?: RequestContext; id: number },
): Promise<ChangeWindowRecord> {
  requireCapability(request.initiator, CAPABILITIES.windowsManage, 'delete change windows');
  const [deleted] = Number.isSafeInteger(request.id)
    ? await orm(pool).delete(changeWindows).where(eq(changeWindows.id, request.id)).returning()
    : [];
  if (!deleted) throw new RunbookRefusal('window_not_found', `No change window has the id ${request.id}.`);
  const { id, createdAt: _createdAt, ...was } = deleted;
  await recordAudit(pool, {
    ...auditActor(request.initiator, request.context),
    action: 'change_window.deleted',
    targetKind: 'change_window',
    targetId: String(id),
    metadata: was,
  });
  return deleted;
}
