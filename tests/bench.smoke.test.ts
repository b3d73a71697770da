import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';
import { testServerUrl } from './support/testDatabase.js';

const SECTIONS = [
  'machine',
  'dataset',
  'physicalLimit',
  'machineLimit',
  'runbook',
  'naivePeer',
  'preflight',
  'orchestration',
  'scaleOut',
  'memory',
  'console',
  'targets',
];

/**
 * A smoke run of `npm run bench -- --quick --json-only`: it runs end to end and writes valid
 * JSON with every section. The figures themselves are not checked: a benchmark on a shared
 * machine is never a timed test.
 */
describe('npm run bench --quick', () => {
  let resultsDir: string;
  beforeAll(async () => void (resultsDir = await mkdtemp(join(tmpdir(), 'bench-smoke-'))));
  afterAll(() => rm(resultsDir, { recursive: true, force: true }));

  it('exits 0 and writes the results as JSON, every section present', { timeout: 300_000 }, async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', join(PROJECT_ROOT, 'bench/run.ts'), '--quick', '--json-only'],
        // Its own results folder: bench/results/ keeps real runs only.
        {
          cwd: PROJECT_ROOT,
          // On the tests' server, which may be an embedded one where nothing answers at 5432.
          env: { ...process.env, BENCH_RESULTS_DIR: resultsDir, BENCH_DATABASE_URL: testServerUrl() },
          timeout: 280_000,
          maxBuffer: 64 * 1024 * 1024,
        },
        (error, out, err) =>
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout: out, stderr: err }),
      );
    });
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });

    const printed = JSON.parse(stdout) as Record<string, unknown>;
    expect(Object.keys(printed)).toEqual(expect.arrayContaining(SECTIONS));
    for (const section of SECTIONS) expect(printed[section], section).toBeTruthy();
    expect(printed.quick).toBe(true);
    // The machine's limit and the run with the health gates off were measured, as real runs.
    expect(printed.machineLimit).toMatchObject({ ways: expect.any(Number), seconds: expect.any(Number) });
    expect(printed.runbook).toMatchObject({
      ratioToMachine: expect.any(Number),
      gates: { offSeconds: expect.any(Number), cost: expect.any(Number) },
    });
    const { gates } = printed.runbook as { gates: { offSeconds: number } };
    expect(gates.offSeconds).toBeGreaterThan(0);
    // Item 2c: the other batch sizing, then item 2's again, back to back, both real runs; the ratio
    // is the pair's, item 2's own time only reported; auto's final size within the bounds.
    const { sizing, seconds: item2Seconds } = printed.runbook as {
      seconds: number;
      sizing: {
        item2: 'auto' | 'fixed';
        item2Seconds: number;
        auto: { seconds: number; finalSize: number; items: { items: number; medianFinalSize: number } };
        fixed: { seconds: number; batchSize: number };
        pair: { autoSeconds: number; fixedSeconds: number; order: string[] };
        autoOverFixed: number;
      };
    };
    expect(sizing).toMatchObject({
      item2: expect.stringMatching(/^(auto|fixed)$/),
      item2Seconds: expect.any(Number),
      auto: {
        seconds: expect.any(Number),
        ratioToPhysical: expect.any(Number),
        targetMs: expect.any(Number),
        finalSize: expect.any(Number),
        items: { changes: { grow: expect.any(Number), shrink: expect.any(Number), split: expect.any(Number) } },
      },
      fixed: { seconds: expect.any(Number), ratioToPhysical: expect.any(Number), batchSize: expect.any(Number) },
      pair: { autoSeconds: expect.any(Number), fixedSeconds: expect.any(Number), order: expect.any(Array) },
      autoOverFixed: expect.any(Number),
    });
    expect(sizing.item2Seconds).toBe(item2Seconds);
    expect(sizing.pair.order).toEqual([sizing.item2, sizing.item2 === 'auto' ? 'fixed' : 'auto']);
    expect(sizing.pair).toMatchObject({ autoSeconds: sizing.auto.seconds, fixedSeconds: sizing.fixed.seconds });
    expect(sizing.autoOverFixed).toBe(Math.round((sizing.pair.autoSeconds / sizing.pair.fixedSeconds) * 100) / 100);
    expect(sizing.auto.seconds).toBeGreaterThan(0);
    expect(sizing.fixed.seconds).toBeGreaterThan(0);
    expect(sizing.auto.finalSize).toBeGreaterThanOrEqual(50);
    expect(sizing.auto.finalSize).toBeLessThanOrEqual(50_000);
    expect(sizing.auto.items.items).toBeGreaterThan(0);
    expect(sizing.auto.items.medianFinalSize).toBeGreaterThanOrEqual(50);
    expect(sizing.autoOverFixed).toBeGreaterThan(0);
    const targets = printed.targets as Array<{ figure: string; value: unknown }>;
    expect(targets.find((target) => target.figure.startsWith('batch sizing: auto / fixed'))).toMatchObject({
      value: sizing.autoOverFixed,
    });

    const file = /^results: (\S+\.json) /m.exec(stderr)?.[1];
    expect(file, stderr).toMatch(new RegExp(`^${resultsDir}/`));
    expect(JSON.parse(await readFile(file!, 'utf8'))).toEqual(printed);
  });
});
