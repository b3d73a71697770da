import { readFile } from 'node:fs/promises';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { beforeAll, describe, expect, inject, it } from 'vitest';

const { History } = temporal.api.history.v1;

/** A history saved under tests/fixtures (`History.toObject` with longs, enums and bytes as strings). */
async function savedHistory(name: string) {
  return History.fromObject(JSON.parse(await readFile(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')));
}

/**
 * Histories recorded by earlier workflow code, replayed through today's (the bundle every test
 * worker runs): a run in flight at a deploy goes on under the new code only if its history
 * replays without a nondeterminism error.
 */
describe('workflows replay the histories of earlier code', () => {
  // The replay worker logs only errors, so a pass prints nothing.
  beforeAll(() => Runtime.install({ logger: new DefaultLogger('ERROR') }));

  it('a single-tenant run recorded while the batch activity was still called rebuildTenant', async () => {
    // Recorded with the workflows of 8337b46 and stub activities: its first stretch as a local
    // activity, the rest as an ordinary one, both under the old name, and no patch marker.
    const history = await savedHistory('runbookTenant-before-processTenant.history.json');
    const recorded = (history.events ?? []).flatMap((event) => [
      event.activityTaskScheduledEventAttributes?.activityType?.name,
      event.markerRecordedEventAttributes?.markerName,
    ]);
    expect(recorded.filter(Boolean)).toEqual(['beginRun', 'core_local_activity', 'rebuildTenant', 'completeRun']);
    await expect(
      Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history),
    ).resolves.toBeUndefined();
  });
});
