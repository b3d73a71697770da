import type { RunbookDefinition } from '../../../../runbooks/definition.js';
import { expectation, parameterFields, parameterText, type ParameterField } from '../../../../runbooks/parameters.js';

/** Form fields of parameters are named `p.<parameter>`, apart from the form's own fields. */
const PREFIX = 'p.';

/** The parameter fields a form may send; the engine checks the values against the declaration. */
export const PARAMETER_FIELDS_SCHEMA = {
  '^p\\.[A-Za-z][A-Za-z0-9]{0,63}$': {
    anyOf: [
      { type: 'string', maxLength: 4000 },
      { type: 'array', maxItems: 1000, items: { type: 'string', maxLength: 200 } },
    ],
  },
} as const;

/** What the form sent for the runbook's parameters, by parameter name (text, or several texts). */
export type ParameterInput = Record<string, string | string[]>;

/** The parameters among a form's fields. */
export function parameterInputOf(body: object): ParameterInput {
  const input: ParameterInput = {};
  for (const [key, value] of Object.entries(body)) {
    if (key.startsWith(PREFIX)) input[key.slice(PREFIX.length)] = value as string | string[];
  }
  return input;
}

const asList = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).map((v) => v.trim());

/** A datetime as the form's datetime-local field shows it: UTC, to the minute. */
const localValue = (value: string) => value.replace(/(:\d{2})?(\.\d+)?Z$/, '').slice(0, 16);

/** One field of the form, as the view renders it. */
function fieldView(
  runbook: RunbookDefinition,
  field: ParameterField,
  given: string | string[] | undefined,
  problem: string | undefined,
) {
  const fallback = field.default === undefined ? undefined : field.default;
  const value =
    given ?? (Array.isArray(fallback) ? (fallback as string[]) : fallback === undefined ? '' : parameterText(fallback));
  const chosen = new Set(asList(value));
  const single = Array.isArray(value) ? value.join(',') : value;
  return {
    name: `${PREFIX}${field.name}`,
    // Unique on the page, where two runbooks may name a parameter alike.
    id: `param-${runbook.id.replace(/[^A-Za-z0-9-]/g, '-')}-${field.name}`,
    kind: field.kind,
    label: field.label,
    help: `${field.help} (${expectation(field)}${field.required ? '' : `; default: ${parameterText(field.default)}`})`,
    required: field.required,
    value: field.kind === 'datetime' ? localValue(single) : single,
    checked: field.kind === 'boolean' && (single === 'true' || single === 'on'),
    min: field.min ?? null,
    max: field.max ?? null,
    maxLength: field.maxLength ?? null,
    choices: (field.choices ?? []).map((choice) => ({ value: choice, checked: chosen.has(choice) })),
    problem: problem ?? null,
  };
}

/** The runbook's parameter fields with what was sent (or the defaults) and any problem by field. */
export function parameterFieldsView(
  runbook: RunbookDefinition,
  input: ParameterInput,
  problems: Record<string, string> = {},
) {
  return parameterFields(runbook.parameters).map((field) =>
    fieldView(runbook, field, input[field.name], problems[field.name]),
  );
}

/** Hidden inputs that carry the parameters a preflight was asked for on to its confirmation and a new preflight. */
export function hiddenParameters(input: ParameterInput): Array<{ name: string; value: string }> {
  return Object.entries(input).flatMap(([name, value]) =>
    (Array.isArray(value) ? value : [value]).map((v) => ({ name: `${PREFIX}${name}`, value: v })),
  );
}

/** Canonical values as the form sends them back: what the preflight was computed for. */
export function inputOfParameters(parameters: Record<string, unknown>): ParameterInput {
  return Object.fromEntries(
    Object.entries(parameters).map(([name, value]) => [
      name,
      Array.isArray(value) ? value.map(String) : String(value as string | number | boolean),
    ]),
  );
}
