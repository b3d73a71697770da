import type { FastifyPluginAsync } from 'fastify';
import { findingsLifecycleRebuild } from '../../../../catalog/findings-lifecycle/definition.js';
import { preflightAndStart } from '../../../../runbooks/preflightAndStart.js';
import { RunbookRefusal } from '../../../../runbooks/refusal.js';
import { IDEMPOTENCY_KEY_MAX, type StartRequest } from '../../../../runbooks/validateStart.js';
import { CUSTOMER, customerOf, initiatorOf } from '../../../plugins/app/auth.js';
import { renderFindingsPage } from '../findings/index.js';
import { FINDINGS_PATH, MAINTENANCE_TRIGGER_PATH } from '../findings/views.js';
import { CSRF_FIELD, NO_QUERY, PLAIN_TEXT } from '../../../schemas.js';

/** What the run's audit trail and the operators' runs list give as the reason. */
const TRIGGER_REASON = 'Requested by a customer with the legacy maintenance trigger on /admin';

const triggerBody = {
  type: 'object',
  properties: {
    ...CSRF_FIELD,
    idempotencyKey: { type: 'string', maxLength: IDEMPOTENCY_KEY_MAX, pattern: PLAIN_TEXT },
  },
  // The tenant is always the signed-in customer's own: a form that names one is refused (400).
  additionalProperties: false,
} as const;

/** A refusal in the customer's words: nothing of runs, operators or the rules' internals. */
function customerProblem(refusal: RunbookRefusal): string {
  switch (refusal.code) {
    case 'overlapping_run':
      return 'A rebuild of your findings is already under way. Try again once it has finished.';
    case 'preflight_drift':
    case 'preflight_stale':
      return 'Your findings changed while the rebuild was being prepared. Press the button again.';
    case 'capability':
      return refusal.message;
    default:
      return 'The rebuild could not be started. Try again in a few minutes; if it keeps failing, contact support.';
  }
}

/**
 * `POST /admin/maintenance/findings-lifecycle`, the legacy trigger (registered only with
 * ADMIN_MAINTENANCE_TRIGGER=on): a one-tenant rebuild of the customer's own tenant through
 * the one starter, after a fresh preflight, as the CLI does. The customer learns only that it
 * is queued.
 */
export const maintenanceRoutes: FastifyPluginAsync = async (app) => {
  const { pool } = app.deps.database;

  app.post<{ Body: { idempotencyKey?: string } }>(
    MAINTENANCE_TRIGGER_PATH,
    { schema: { querystring: NO_QUERY, body: triggerBody }, config: { capability: CUSTOMER } },
    async (request, reply) => {
      const { initiator, context } = initiatorOf(request);
      const start: StartRequest = {
        runbook: findingsLifecycleRebuild.id,
        scope: { kind: 'tenants', externalIds: [customerOf(request).tenantExternalId] },
        initiator,
        context,
        reason: TRIGGER_REASON,
        source: 'admin_trigger',
        idempotencyKey: request.body?.idempotencyKey || null,
      };
      try {
        // A double submit replays its start without spending a second preflight.
        await preflightAndStart({ pool, launcher: app.launcher }, start);
        return reply.seeOther(`${FINDINGS_PATH}?rebuild=queued`);
      } catch (error) {
        if (!(error instanceof RunbookRefusal)) throw error;
        return renderFindingsPage(app, request, reply, { triggerProblem: customerProblem(error), httpStatus: 422 });
      }
    },
  );
};
