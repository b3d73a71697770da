// `changes` at the CLI (#24): an all-tenants start files a change request; operators sign in with
// the console's own check (`--as`, `--password-stdin`) to approve or reject it, its requester
// withdraws it, and sign-in attempts are throttled through the audit trail. Real CLI processes,
// a real worker.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPlatformUser } from '../src/auth/platformUsers.js';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';
import type { ChangeRequestRecord } from '../src/runbooks/approvals/changeRequests.js';
import { ALL_CAPABILITIES } from '../src/runbooks/capabilities.js';
import type { Initiator } from '../src/runbooks/initiator.js';
import { ALL_TENANTS_PHRASE } from '../src/runbooks/model.js';
import { runPreflight } from '../src/runbooks/preflight.js';
import { getRunbook } from '../src/runbooks/registry.js';
import { startRunbook } from '../src/runbooks/start.js';
import { TEST_RUNBOOK_IMPORT, type CliResult } from './support/cli.js';
import { flagTenant, unflagFindings } from './support/flagOracle.js';
import { FLAG_PARAMETERS, RUNBOOK, useRunbookHarness } from './support/harness.js';
import { tenantIds, waitForRun } from './support/runs.js';

const REASON = 'Flag the old findings after the incident review';
const COMMENT = 'Checked the preflight numbers against the ticket';
const PASSWORD = 'Correct-Horse-Battery-9';
const ID = '[0-9a-f-]{36}';

// Each test runs a dozen CLI processes, the throttle's at once: more than the default minute on a busy machine.
describe('tsx src/cli changes', { timeout: 180_000 }, () => {
  const h = useRunbookHarness({ seed: { tenants: 3, findingsPerTenant: 12, seed: 161 } });
  const env = (): Record<string, string> => ({
    DATABASE_URL: h.database.url,
    TEMPORAL_ADDRESS: h.config.temporal.address,
    TEMPORAL_TASK_QUEUE: h.config.temporal.taskQueue,
  });

  /** The CLI (knowing the test runbook) with `input` on its standard input, which is always closed. */
  const cli = (
    args: string[],
    { input = '', extraEnv = {} }: { input?: string; extraEnv?: Record<string, string> } = {},
  ) =>
    new Promise<CliResult>((resolve) => {
      const child = execFile(
        process.execPath,
        ['--import', 'tsx', ...TEST_RUNBOOK_IMPORT, join(PROJECT_ROOT, 'src/cli/index.ts'), ...args],
        { cwd: PROJECT_ROOT, env: { ...process.env, ...env(), ...extraEnv }, timeout: 120_000 },
        (error, stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      );
      child.stdin!.end(input);
    });
  /** A decision signed in as `email`, the password on standard input. */
  const decide = (verb: 'approve' | 'reject', id: string, email: string, password = PASSWORD, extra: string[] = []) =>
    cli(['changes', verb, id, '--as', email, '--password-stdin', '--comment', COMMENT, ...extra], {
      input: `${password}\n`,
    });

  let operators = 0;
  /** An operator with a password, who may start and approve. */
  const operator = async (): Promise<Extract<Initiator, { kind: 'platform_user' }>> => {
    const user = await createPlatformUser(h.database.pool, {
      email: `approver-${++operators}-${Date.now()}@example.com`,
      password: PASSWORD,
      capabilities: ALL_CAPABILITIES,
    });
    return { kind: 'platform_user', id: user.id, email: user.email, capabilities: user.capabilities };
  };

  /** `start-runbook` over all tenants where the policy holds it: the request it filed. */
  const fileFromCli = async (): Promise<string> => {
    await unflagFindings(h.database.pool);
    const filed = await cli(
      [
        'start-runbook',
        'test-flag-findings',
        '--all-tenants',
        '--confirm',
        ALL_TENANTS_PHRASE,
        '--older-than-days',
        '1',
        '--reason',
        REASON,
      ],
      { extraEnv: { APPROVALS: 'all_tenants:1' } },
    );
    expect(filed.code, filed.stderr).toBe(0);
    const id = new RegExp(`Change request (${ID}) filed: needs 1 approval, by `).exec(filed.stderr)?.[1];
    expect(id, filed.stderr).toBeDefined();
    expect(filed.stderr).toContain(`An approver runs: npm run cli -- changes approve ${id} --as <email>`);
    expect(filed.stdout).toBe(`${id} open\n`);
    return id!;
  };

  /** A request filed through the engine by a signed-in operator (as the console files one). */
  const fileAs = async (requester: Initiator, approvals: number): Promise<ChangeRequestRecord> => {
    await unflagFindings(h.database.pool);
    const scope = { kind: 'all_tenants' } as const;
    const preflight = await runPreflight(h.database.pool, {
      runbook: getRunbook(RUNBOOK),
      scope,
      parameters: FLAG_PARAMETERS,
      initiator: requester,
    });
    const outcome = await startRunbook(
      {
        pool: h.database.pool,
        launcher: h.launcher,
        approvals: { policy: { when: 'all_tenants', approvals }, ttlMs: 3600_000 },
      },
      {
        runbook: RUNBOOK,
        scope,
        parameters: FLAG_PARAMETERS,
        initiator: requester,
        reason: REASON,
        source: 'system_ui',
        confirmation: ALL_TENANTS_PHRASE,
        preflightId: preflight.id,
      },
    );
    if (!('changeRequest' in outcome)) throw new Error(`the start was not held: run ${outcome.run.id}`);
    return outcome.changeRequest;
  };

  const runsOf = async (id: string) =>
    (await h.database.pool.query('SELECT id FROM operation_runs WHERE change_request_id = $1', [id])).rows;
  const loginEvents = async (email: string) =>
    (
      await h.database.pool.query<{ action: string; ip: string | null; metadata: Record<string, unknown> }>(
        `SELECT action, ip, metadata FROM audit_events
          WHERE action LIKE 'auth.login%' AND (metadata ->> 'email' = $1 OR actor_label = $1) ORDER BY id`,
        [email],
      )
    ).rows;

  it('files a request from start-runbook, lists it, refuses a wrong password, and an approval starts the run', async () => {
    const approver = await operator();
    const id = await fileFromCli();
    expect(await runsOf(id)).toEqual([]);

    const listed = await cli(['changes', 'list']);
    expect(listed.code, listed.stderr).toBe(0);
    const [header, ...rows] = listed.stdout.trimEnd().split('\n');
    expect(header!.split(/\s+/)).toEqual(['ID', 'STATUS', 'RUNBOOK', 'SCOPE', 'APPROVALS', 'REQUESTER', 'EXPIRES']);
    expect(rows).toEqual([
      expect.stringMatching(new RegExp(`^${id} +open +${RUNBOOK} +all tenants +0/1 +cli:\\S+@\\S+ +\\d{4}-\\S+Z$`)),
    ]);
    const listedJson = JSON.parse((await cli(['changes', 'list', '--json'])).stdout);
    expect(listedJson).toEqual([expect.objectContaining({ id, status: 'open', approvals: 0, approvalsRequired: 1 })]);

    // A wrong password: refused as the console refuses it, audited as its attempts are, nothing decided.
    const wrong = await decide('approve', id, approver.email, 'not-the-password');
    expect(wrong).toEqual({ code: 2, stdout: '', stderr: 'error: The email or password is not right.\n' });
    expect((await loginEvents(approver.email)).at(-1)).toEqual({
      action: 'auth.login_failed',
      ip: null,
      metadata: {
        plane: 'system',
        email: approver.email,
        reason: 'wrong_password',
        via: 'cli',
        label: expect.stringMatching(/^cli:\S+@\S+$/),
      },
    });
    // --as without --password-stdin is a usage error, before any attempt.
    const noPassword = await cli(['changes', 'approve', id, '--as', approver.email, '--comment', COMMENT]);
    expect(noPassword.code).toBe(2);
    expect(noPassword.stderr).toMatch(/^error: --as needs --password-stdin/);
    expect(await loginEvents(approver.email)).toHaveLength(1);

    const approved = await decide('approve', id, approver.email);
    expect(approved.code, approved.stderr).toBe(0);
    const runId = new RegExp(`^Approved change request ${id}: run (${ID}) started\\. `).exec(approved.stdout)?.[1];
    expect(approved.stdout).toBe(
      `Approved change request ${id}: run ${runId} started. Follow it with: npm run cli -- runs follow ${runId}\n`,
    );
    expect((await loginEvents(approver.email)).at(-1)).toMatchObject({
      action: 'auth.login_succeeded',
      metadata: { plane: 'system', email: approver.email, via: 'cli' },
    });
    expect((await waitForRun(h.database.pool, runId!)).outcome).toBe('succeeded');

    const shown = await cli(['changes', 'show', id]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`Change request ${id} — ${RUNBOOK} on all tenants: approved\n`);
    expect(shown.stdout).toMatch(new RegExp(`\\n  filed by cli:\\S+ \\(cli\\) at \\S+: "${REASON}"\\n`));
    expect(shown.stdout).toMatch(/\nPreflight \S+ — Flag old findings \(test\) on all tenants\n/);
    expect(shown.stdout).toContain(`approved by ${approver.email}: "${COMMENT}"\n`);
    expect(shown.stdout).toContain(`Run ${runId}: Completed (succeeded): 3/3 tenants`);
    expect(shown.stdout).toMatch(new RegExp(`Next:\\n  its run is over: npm run cli -- runs show ${runId}\\n$`));
    const shownJson = JSON.parse((await cli(['changes', 'show', id, '--json'])).stdout);
    expect(shownJson).toMatchObject({
      changeRequest: { id, status: 'approved', runId, decisions: [{ label: approver.email, comment: COMMENT }] },
      preflight: { id: expect.any(String), report: { tenantsInScope: 3 } },
      run: { id: runId, outcome: 'succeeded' },
    });
    // Open requests only: none is left.
    expect((await cli(['changes', 'list'])).stdout).toMatch(/^No open change requests\./);
  });

  it('refuses self-approval; counts one approval of two; a rejection closes the request', async () => {
    const [requester, first, second] = [await operator(), await operator(), await operator()];
    const request = await fileAs(requester, 2);

    const self = await decide('approve', request.id, requester.email);
    expect(self).toMatchObject({ code: 2, stdout: '' });
    expect(self.stderr).toBe(`error: You filed change request ${request.id}; someone else must approve it.\n`);

    const one = await decide('approve', request.id, first.email);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toBe(`Approved change request ${request.id} (1 of 2 approvals; needs 1 more)\n`);
    const again = await decide('approve', request.id, first.email);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^error: You approved change request \S+ already; one person counts once/);

    const rejected = await decide('reject', request.id, second.email, PASSWORD, ['--json']);
    expect(rejected.code, rejected.stderr).toBe(0);
    expect(JSON.parse(rejected.stdout)).toMatchObject({
      id: request.id,
      status: 'rejected',
      decisions: [
        { label: first.email, decision: 'approve' },
        { label: second.email, decision: 'reject', comment: COMMENT },
      ],
    });
    expect(await runsOf(request.id)).toEqual([]);
    const shown = (await cli(['changes', 'show', request.id])).stdout;
    expect(shown).toContain(`on all tenants: rejected\n`);
    expect(shown).toContain(`  filed by ${requester.email} (system_ui)`);
    expect(shown).toContain(`  1 of 2 approvals; rejected at `);
    expect(shown).toContain(`rejected by ${second.email}: "${COMMENT}"\n`);
    expect(shown).toMatch(/Next:\n {2}nothing runs from it; .*\n$/);
    // Closed: nothing more is decided on it.
    const late = await decide('approve', request.id, second.email);
    expect(late.code).toBe(2);
    expect(late.stderr).toMatch(
      new RegExp(`^error: Change request ${request.id} is rejected at \\S+; nothing can be decided on it now\\.\\n$`),
    );
  });

  it('lets the CLI that filed a request withdraw it, and no one else', async () => {
    const stranger = await operator();
    const id = await fileFromCli();
    const notTheirs = await cli(['changes', 'withdraw', id, '--as', stranger.email, '--password-stdin'], {
      input: `${PASSWORD}\n`,
    });
    expect(notTheirs.code).toBe(2);
    expect(notTheirs.stderr).toMatch(
      new RegExp(`^error: Only cli:\\S+, who filed change request ${id}, may withdraw it\\.\\n$`),
    );

    const withdrawn = await cli(['changes', 'withdraw', id, '--comment', 'Filed against the wrong ticket']);
    expect(withdrawn).toEqual({ code: 0, stdout: `Withdrew change request ${id}: nothing runs.\n`, stderr: '' });
    expect(await runsOf(id)).toEqual([]);
    const all = JSON.parse((await cli(['changes', 'list', '--all', '--json'])).stdout) as Array<{
      id: string;
      status: string;
    }>;
    expect(all[0]).toMatchObject({ id, status: 'withdrawn' });
    expect(all.map((entry) => entry.status)).toEqual(['withdrawn', 'rejected', 'approved']);

    const missing = await cli(['changes', 'show', '00000000-0000-4000-8000-000000000000']);
    expect(missing).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'error: No change request has the id 00000000-0000-4000-8000-000000000000. List them with: npm run cli -- changes list --all\n',
    });
  });

  it('says a request is void when its data drifted, and exits 1: nothing started', async () => {
    const approver = await operator();
    const id = await fileFromCli();
    const [tenant] = await tenantIds(h.database.pool);
    expect(
      await flagTenant(h.database.pool, tenant!, { parameters: FLAG_PARAMETERS, asOf: new Date() }),
    ).toBeGreaterThan(0);
    const voided = await decide('approve', id, approver.email);
    expect(voided.code, voided.stderr).toBe(1);
    expect(voided.stdout).toMatch(new RegExp(`^Change request ${id} is void: The data changed since preflight `));
    expect(await runsOf(id)).toEqual([]);
    const shown = await cli(['changes', 'show', id]);
    expect(shown.stdout).toMatch(/\nVoid: The data changed since preflight /);
  });

  it('throttles an email after 10 attempts in a minute, counted across processes', async () => {
    const target = await operator();
    // At once: each process counts the attempts before it under a lock, so exactly one is over the limit.
    const attempts = await Promise.all(
      Array.from({ length: 11 }, () =>
        cli(['changes', 'withdraw', '00000000-0000-4000-8000-000000000000', '--as', target.email, '--password-stdin'], {
          input: 'a wrong password\n',
        }),
      ),
    );
    const throttled = `error: Too many sign-in attempts for ${target.email}; wait a minute and try again.\n`;
    expect(attempts.map((attempt) => attempt.stderr).sort()).toEqual([
      ...Array<string>(10).fill('error: The email or password is not right.\n'),
      throttled,
    ]);
    expect(attempts.every((attempt) => attempt.code === 2)).toBe(true);
    // The right password does not get past it either.
    expect(await decide('approve', '00000000-0000-4000-8000-000000000000', target.email)).toEqual({
      code: 2,
      stdout: '',
      stderr: throttled,
    });
    const events = await loginEvents(target.email);
    expect(events.map((event) => event.action)).toEqual([
      ...Array<string>(10).fill('auth.login_failed'),
      'auth.login_throttled',
      'auth.login_throttled',
    ]);
    expect(events.at(-1)).toMatchObject({
      ip: null,
      metadata: { plane: 'system', email: target.email, reason: 'throttled', via: 'cli' },
    });
  });
});
