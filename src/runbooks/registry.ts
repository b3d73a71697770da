import { CATALOG } from '../catalog/index.js';
import { RunbookRefusal } from './refusal.js';
import type { RunbookDefinition } from './definition.js';
import { parameterFields } from './parameters.js';

/** A catalog entry as the engine can run it: the deploy hook starts with defaults, so it needs one for every parameter. */
function checked(runbook: RunbookDefinition): RunbookDefinition {
  const required = parameterFields(runbook.parameters).filter((field) => field.required);
  if (runbook.deployTriggered && required.length > 0) {
    throw new Error(
      `${runbook.id} is deploy-triggered, so every parameter needs a default; ${required.map((field) => field.name).join(', ')} has none`,
    );
  }
  return runbook;
}

const catalog: RunbookDefinition[] = CATALOG.map(checked);

/** The catalog: every registered runbook, in the order the surfaces list them. */
export const RUNBOOKS: readonly RunbookDefinition[] = catalog;

/**
 * Adds a runbook to the catalog of this process (a test's own runbook, say); its id and CLI
 * name must be new.
 */
export function registerRunbook(runbook: RunbookDefinition): void {
  if (catalog.some((known) => known.id === runbook.id || known.cliName === runbook.cliName))
    throw new Error(`a runbook with id ${runbook.id} or CLI name ${runbook.cliName} is registered already`);
  catalog.push(checked(runbook));
}

/** The runbook with this id or CLI name; the error lists the ones that exist. */
export function getRunbook(idOrCliName: string): RunbookDefinition {
  const runbook = RUNBOOKS.find((candidate) => candidate.id === idOrCliName || candidate.cliName === idOrCliName);
  if (!runbook) {
    const known = RUNBOOKS.map((candidate) => `${candidate.cliName} (${candidate.id})`).join(', ');
    throw new RunbookRefusal('unknown_runbook', `Unknown runbook "${idOrCliName}". Known runbooks: ${known}.`);
  }
  return runbook;
}

/**
 * The runbooks the deploy hook runs once per release: the names given (DEPLOY_RUNBOOKS, empty
 * for none), or else every runbook registered as deploy-triggered.
 */
export function deployRunbooks(names: string[] | null): RunbookDefinition[] {
  return names === null ? RUNBOOKS.filter((runbook) => runbook.deployTriggered) : names.map(getRunbook);
}

/** The runbooks that write the same data as this one (itself among them): their runs exclude each other. */
export function runbooksWriting(runbook: RunbookDefinition): string[] {
  return RUNBOOKS.filter((other) => other.writes === runbook.writes).map((other) => other.id);
}

/** A runbook's title for people, or its id when it is no longer registered (old runs keep theirs). */
export function runbookTitle(id: string): string {
  return RUNBOOKS.find((runbook) => runbook.id === id)?.title ?? id;
}
