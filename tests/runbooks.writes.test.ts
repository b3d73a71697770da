import { describe, expect, it } from 'vitest';
import { runPreflight } from '../src/runbooks/preflight.js';
import { getRunbook } from '../src/runbooks/registry.js';
import type { ScopeInput } from '../src/runbooks/scope.js';
import { runOf, startRunbook } from '../src/runbooks/start.js';
import type { Initiator } from '../src/runbooks/initiator.js';
import { useFlagRunbook } from './support/flagRunbook.js';
import { LIFECYCLE, useRunbookHarness } from './support/harness.js';
import { refusalOf } from './support/refusal.js';

const flag = useFlagRunbook();
const REASON = 'Two runbooks over the same findings';
const one = (externalId: string): ScopeInput => ({ kind: 'tenants', externalIds: [externalId] });

// No worker polls this file's task queue: a started run stays queued, holding what it writes.
describe('what a runbook writes, and who may start it', () => {
  const h = useRunbookHarness({ seed: { tenants: 3, findingsPerTenant: 20, seed: 8 }, worker: false });

  async function start(
    runbookId: string,
    scope: ScopeInput,
    parameters: Record<string, unknown>,
    initiator?: Initiator,
  ) {
    const by = initiator ?? h.operator;
    const runbook = getRunbook(runbookId);
    const preflight = await runPreflight(h.database.pool, { runbook, scope, parameters, initiator: by });
    return runOf(
      await startRunbook(
        { pool: h.database.pool, launcher: h.launcher },
        {
          runbook: runbookId,
          scope,
          parameters,
          initiator: by,
          reason: REASON,
          source: 'cli',
          preflightId: preflight.id,
        },
      ),
    );
  }

  it('refuses a start while a run of another runbook that writes the same data covers the scope, naming it', async () => {
    expect(flag.writes).toBe(getRunbook(LIFECYCLE).writes);
    const { run: holder } = await start(LIFECYCLE, one('tenant-00001'), {});
    const refusal = await refusalOf(start(flag.id, one('tenant-00001'), { olderThanDays: 1 }));
    expect(refusal.code).toBe('overlapping_run');
    expect(refusal.message).toContain(
      `Run ${holder.id} of Rebuild Findings Lifecycle (queued, tenant-00001, by ${holder.initiatorLabel}), which writes findings too, already covers this scope`,
    );
    // Another tenant is free.
    const { run } = await start(flag.id, one('tenant-00002'), { olderThanDays: 1 });
    expect(run.status).toBe('queued');
  });

  it('lets a customer start only a runbook that opts in to the customer trigger', async () => {
    const customer: Initiator = { kind: 'customer', id: 1, email: 'c@example.com', tenantExternalId: 'tenant-00003' };
    const refusal = await refusalOf(start(flag.id, one('tenant-00003'), { olderThanDays: 1 }, customer));
    expect(refusal.code).toBe('capability');
    expect(refusal.message).toBe(
      'A customer account cannot start Flag old findings (test); that is for platform operators.',
    );
    expect(getRunbook(LIFECYCLE).customerTrigger).toBe(true);
    const { run } = await start(LIFECYCLE, one('tenant-00003'), {}, customer);
    expect(run.source).toBe('cli');
  });
});
