import type { FastifyPluginAsync } from 'fastify';
import { findingsRoutes } from './findings/index.js';
import { adminLoginRoutes } from './login/index.js';
import { maintenanceRoutes } from './maintenance/index.js';

/**
 * The `/admin` customer plane: sign-in and the customer's own findings, and the legacy
 * maintenance trigger only when ADMIN_MAINTENANCE_TRIGGER=on (otherwise its URL is the
 * ordinary 404). No runbook, run, preflight or operator page is reachable from here.
 */
export const adminRoutes: FastifyPluginAsync = async (app) => {
  await app.register(adminLoginRoutes);
  await app.register(findingsRoutes);
  if (app.deps.config.adminMaintenanceTrigger) await app.register(maintenanceRoutes);
};
