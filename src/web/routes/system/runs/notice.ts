import type { FastifyReply, FastifyRequest } from 'fastify';
import { oneTimeNotice } from '../../../oneTimeNotice.js';

/** What an operator just asked of a run: the start (or the approval that started it), or an action on it. */
export const NOTICES = {
  started: 'queued',
  approved: 'approved and queued',
  cancel: 'Cancel requested',
  pause: 'Pause requested',
  resume: 'Resume requested',
  tune: 'New settings sent to the run',
} as const;
export type Notice = keyof typeof NOTICES;

const runNotice = oneTimeNotice({ name: 'run_notice', path: '/system/ops/runs' }, Object.keys(NOTICES) as Notice[]);

/** The toast of a redirect to a run page (see `oneTimeNotice`). */
export function sendNotice(reply: FastifyReply, runId: string, notice: Notice, secure: boolean): void {
  runNotice.send(reply, runId, notice, secure);
}

/** The notice meant for this run's page, cleared as it is shown. */
export function takeNotice(request: FastifyRequest, reply: FastifyReply, runId: string): Notice | null {
  return runNotice.take(request, reply, runId);
}
