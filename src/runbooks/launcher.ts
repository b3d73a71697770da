import type { GateChange, GateSettings } from './health/gateSettings.js';
import type { RunSizing } from './sizing/runSizing.js';
import type { PreflightSummary, RunGuards, RunTuning, TuneRequest, TuneResult } from './model.js';

/** What a run's root workflow needs to know; the starter hands it over. */
export interface RunToLaunch {
  runId: string;
  runbook: string;
  /** One tenant: the tenant workflow alone; otherwise a fan-out over the run's items. */
  singleTenant: { id: number; externalId: string } | null;
  preflight: PreflightSummary;
  guards: RunGuards;
  /** Its health-gate thresholds, as resolved when it was written (absent on runs written before the gates). */
  gates?: GateSettings;
  /** How it sizes its batches, as written (absent: the launcher's settings). */
  sizing?: RunSizing;
}

/**
 * `no_workflow`: it never started (the starter died in between), or it closed without
 * completing its run (terminated from outside, say), or retention removed it: nobody is there to tell.
 */
export type ControlOutcome = 'sent' | 'no_workflow';

/** A tune's answer; `no_answer`: no worker answered in time. */
export type TuneOutcome = { tuned: TuneResult } | { refused: string } | 'no_workflow' | 'no_answer';

/**
 * How the engine reaches the workflows that execute runs. The engine knows runs, not the
 * workflow service: the composition roots (console, CLI, worker, tests) hand it a launcher
 * (`src/temporal/launcher.ts`), so nothing here depends on how runs are executed.
 */
export interface RunLauncher {
  /** Where runs are launched, for messages: "Temporal at 127.0.0.1:7233". */
  readonly name: string;
  /** The parallelism and batch sizing runs start with (a one-tenant run has no parallelism). */
  readonly settings: RunTuning;
  /** The deployment's health-gate thresholds (`HEALTH_*`), which win over the engine's and each runbook's defaults. */
  readonly gates: GateChange;
  /** The id of a run's root workflow: derived from the run id, so a run can never have two. */
  workflowIdOf(runId: string): string;
  /** Starts a run's root workflow; false when it exists already (a replayed start). */
  start(run: RunToLaunch): Promise<boolean>;
  cancel(runId: string): Promise<ControlOutcome>;
  pause(runId: string, by: string): Promise<ControlOutcome>;
  resume(runId: string, by: string): Promise<ControlOutcome>;
  /** Waits at most `answerWithinMs` for a worker to answer. */
  tune(runId: string, request: TuneRequest, answerWithinMs: number): Promise<TuneOutcome>;
  /** Starts the durable timer that expires an open change request at its deadline (`expireChangeRequest`). */
  expireChangeAt(changeRequestId: string, at: Date): Promise<void>;
  /** Ends a decided request's timer early; nothing when it has ended already. */
  changeDecided(changeRequestId: string): Promise<void>;
}
