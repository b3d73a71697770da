import { Option, type Command } from 'commander';
import type { RunbookDefinition } from '../runbooks/definition.js';
import {
  expectation,
  ParameterRefusal,
  parameterFields,
  parameterText,
  type ParameterField,
} from '../runbooks/parameters.js';
import { RunbookRefusal } from '../runbooks/refusal.js';
import { RUNBOOKS } from '../runbooks/registry.js';

/** A parameter's flag: the one it declares (`--severity`), or its name in kebab case (`olderThanDays` → `--older-than-days`). */
export const flagOf = (field: Pick<ParameterField, 'name' | 'flag'>) =>
  `--${field.flag ?? field.name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;

/** The flag of the named runbook's parameter of that name (an unknown runbook or name as if it were one). */
export function flagOfParameter(runbookName: string, name: string): string {
  const runbook = RUNBOOKS.find((known) => known.id === runbookName || known.cliName === runbookName);
  const field = runbook && parameterFields(runbook.parameters).find((declared) => declared.name === name);
  return flagOf(field ?? { name });
}

const PLACEHOLDER: Record<ParameterField['kind'], string> = {
  integer: '<n>',
  text: '<text>',
  choice: '<value>',
  choices: '<value>',
  boolean: '',
  date: '<YYYY-MM-DD>',
  datetime: '<instant>',
  tenants: '<external_ids>',
};

const repeatable = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

function describe(field: ParameterField): string {
  const many = field.kind === 'choices' || field.kind === 'tenants' ? '; repeat the flag or separate with commas' : '';
  const given = field.required ? 'required' : `default: ${parameterText(field.default)}`;
  return `${field.help} (${expectation(field)}${many}; ${given})`;
}

/** One flag per declared parameter, listed by `--help` with its type, bounds and default. */
export function addParameterFlags(command: Command, runbook: RunbookDefinition): void {
  for (const field of parameterFields(runbook.parameters)) {
    const flag = flagOf(field);
    const option = new Option(
      `${flag}${PLACEHOLDER[field.kind] ? ` ${PLACEHOLDER[field.kind]}` : ''}`,
      describe(field),
    );
    if (field.kind === 'choices' || field.kind === 'tenants') option.argParser(repeatable);
    command.addOption(option);
  }
}

/** The parameter values the flags gave, as the engine takes them (unknown flags never get here). */
export function parametersFromFlags(runbook: RunbookDefinition, options: object): Record<string, unknown> {
  const given = options as Record<string, unknown>;
  const values: Record<string, unknown> = {};
  for (const field of parameterFields(runbook.parameters)) {
    const value = given[new Option(flagOf(field)).attributeName()];
    if (value !== undefined) values[field.name] = value;
  }
  return values;
}

/** A refusal of parameters in the CLI's words: by flag, not by the parameter's name. */
export function withFlagNames(error: unknown, runbookName: string): unknown {
  if (!(error instanceof ParameterRefusal)) return error;
  const message = Object.entries(error.problems)
    .map(([name, problem]) => `${flagOfParameter(runbookName, name)} ${problem}`)
    .join('; ');
  return new RunbookRefusal('invalid_parameters', message);
}
