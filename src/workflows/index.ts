// Everything the worker registers. Workflow code imports activities as types only.
export { runbookFanOutWorkflow, runProgressQuery } from './runbookFanOut.js';
export { runbookTenantWorkflow, tenantProgressQuery } from './runbookTenant.js';
export { deployHookWorkflow, releaseSignal, releasesQuery } from './deployHook.js';
export { changeTimerWorkflow } from './changeTimer.js';
