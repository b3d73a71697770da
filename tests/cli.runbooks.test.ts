import { describe, expect, it } from 'vitest';
import { RUNBOOKS } from '../src/runbooks/registry.js';
import { runCli } from './support/cli.js';

describe('runbooks list', () => {
  it('prints the catalog with what each runbook writes and its parameters, as text and as JSON', async () => {
    const json = await runCli(['runbooks', 'list', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const catalog = JSON.parse(json.stdout);
    expect(catalog.map((runbook: { id: string }) => runbook.id)).toEqual(RUNBOOKS.map((runbook) => runbook.id));
    expect(catalog[0]).toMatchObject({
      id: 'findings.lifecycle.rebuild',
      cliName: 'findings-lifecycle',
      unit: 'findings',
      writes: 'findings',
      deployTriggered: true,
      customerTrigger: true,
      parameters: [],
    });

    const text = await runCli(['runbooks', 'list']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('findings-lifecycle (findings.lifecycle.rebuild) — Rebuild Findings Lifecycle');
    expect(text.stdout).toContain('counts findings; writes findings; run by the deploy hook');
  });
});
