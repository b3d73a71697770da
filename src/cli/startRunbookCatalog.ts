import type { Command } from 'commander';
import type { RunbookDefinition } from '../runbooks/definition.js';
import { parameterFields } from '../runbooks/parameters.js';
import { RUNBOOKS } from '../runbooks/registry.js';
import { addParameterFlags, flagOf } from './parameterFlags.js';

/** What `start-runbook` takes from the catalog for the command line being parsed. */
export interface StartRunbookCatalog {
  /** The runbook the command line names, whose parameters become flags; null when it names none. */
  named: RunbookDefinition | null;
  cliNames: string[];
  /** The flags of the named runbook, or, with none named, the catalog after the help. */
  describe(command: Command): void;
}

/**
 * The runbook a command line starts, when it names a registered one (`start-runbook <name> …`):
 * its parameters become flags of the command before commander parses it.
 */
function runbookNamedIn(argv: readonly string[]): RunbookDefinition | null {
  const at = argv.indexOf('start-runbook');
  const name = at < 0 ? undefined : argv.slice(at + 1).find((arg) => !arg.startsWith('-'));
  return RUNBOOKS.find((runbook) => runbook.cliName === name || runbook.id === name) ?? null;
}

function catalogHelp(): string {
  const lines = ['', 'Runbooks (give one to see its parameters: start-runbook <runbook> --help):'];
  for (const runbook of RUNBOOKS) {
    const flags = parameterFields(runbook.parameters).map(flagOf);
    lines.push(`  ${runbook.cliName.padEnd(24)} ${runbook.title}${flags.length ? `; ${flags.join(' ')}` : ''}`);
  }
  return lines.join('\n');
}

export function startRunbookCatalog(argv: readonly string[]): StartRunbookCatalog {
  const named = runbookNamedIn(argv);
  return {
    named,
    cliNames: RUNBOOKS.map((runbook) => runbook.cliName),
    describe: (command) => (named ? addParameterFlags(command, named) : command.addHelpText('after', catalogHelp())),
  };
}
