import Type, { type Static, type TObject, type TSchema } from 'typebox';
import Value from 'typebox/value';
import { RunbookRefusal } from './refusal.js';

/**
 * Typed runbook parameters, declared once per runbook with TypeBox: each declaration is a JSON
 * Schema (what the checks run) and a static type (what the runbook's code reads), and carries
 * the words and bounds the CLI's flags, the console's fields and the refusals are made from.
 */

/** The shapes a parameter can take; each surface renders and parses them the same way. */
type ParameterKind = 'integer' | 'text' | 'choice' | 'choices' | 'boolean' | 'date' | 'datetime' | 'tenants';

interface Described {
  /** A short name for people: the console's field label. */
  label: string;
  /** One sentence on what it does: `--help` and the field's hint. */
  help: string;
}

/** What every parameter schema carries besides its JSON Schema keywords. */
interface ParameterMeta {
  'x-kind': ParameterKind;
  'x-flag'?: string;
  title: string;
  description: string;
  default?: unknown;
}

/** A tenant's external id, as the tenants table takes it. */
const EXTERNAL_ID = '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$';

/** A list parameter's CLI flag, given once per value, when its name reads badly so: `severity` for `severities`. */
interface Flagged {
  flag?: string;
}

const meta = (kind: ParameterKind, described: Described & Flagged, fallback: unknown): Record<string, unknown> => ({
  'x-kind': kind,
  title: described.label,
  description: described.help,
  ...(described.flag ? { 'x-flag': described.flag } : {}),
  ...(fallback === undefined ? {} : { default: fallback }),
});

const literals = (choices: readonly string[]) => Type.Union(choices.map((choice) => Type.Literal(choice)));

/**
 * The declarations a runbook's parameters are made of. A parameter without a `default` is
 * required; an optional text defaults to the empty string.
 */
export const param = {
  integer: (o: Described & { min: number; max: number; default?: number }) =>
    Type.Integer({ minimum: o.min, maximum: o.max, ...meta('integer', o, o.default) }),
  text: (o: Described & { maxLength: number; pattern?: string; default?: string }) =>
    Type.String({
      maxLength: o.maxLength,
      ...(o.pattern ? { pattern: o.pattern } : {}),
      ...meta('text', o, o.default),
    }),
  choice: <const C extends readonly [string, ...string[]]>(o: Described & { choices: C; default?: C[number] }) =>
    Type.Unsafe<C[number]>({ ...literals(o.choices), ...meta('choice', o, o.default) }),
  choices: <const C extends readonly [string, ...string[]]>(
    o: Described & Flagged & { choices: C; default?: C[number][] },
  ) =>
    Type.Unsafe<C[number][]>(
      Type.Array(literals(o.choices), { minItems: 1, uniqueItems: true, ...meta('choices', o, o.default) }),
    ),
  boolean: (o: Described & { default?: boolean }) => Type.Boolean(meta('boolean', o, o.default ?? false)),
  /** A calendar date, `YYYY-MM-DD`. */
  date: (o: Described & { default?: string }) => Type.String({ format: 'date', ...meta('date', o, o.default) }),
  /** An instant; the console's field names its zone (UTC), and the value is kept in UTC. */
  datetime: (o: Described & { default?: string }) =>
    Type.String({ format: 'date-time', ...meta('datetime', o, o.default) }),
  /** Tenants by external id (the platform tenant and unknown ids are refused when a preflight resolves them). */
  tenants: (o: Described & Flagged & { max?: number; default?: string[] }) =>
    Type.Array(Type.String({ pattern: EXTERNAL_ID }), {
      minItems: 1,
      maxItems: o.max ?? 1000,
      ...meta('tenants', o, o.default),
    }),
};

/** A runbook's parameters: an object of `param` declarations, nothing else accepted. */
export function defineParameters<P extends Record<string, TSchema>>(properties: P) {
  return Type.Object(properties, { additionalProperties: false });
}

/** A runbook without parameters. */
export const NO_PARAMETERS = defineParameters({});

/** One declared parameter, as the surfaces list it. */
export interface ParameterField {
  name: string;
  kind: ParameterKind;
  label: string;
  help: string;
  required: boolean;
  default?: unknown;
  /** integer */
  min?: number;
  max?: number;
  /** text */
  maxLength?: number;
  pattern?: string;
  /** choice, choices */
  choices?: string[];
  /** choices, tenants: the CLI flag's name, when not the parameter's own. */
  flag?: string;
}

const asMeta = (schema: TSchema) => schema as unknown as ParameterMeta & Record<string, unknown>;

function choicesOf(schema: Record<string, unknown>): string[] | undefined {
  const union = (schema.items ?? schema) as { anyOf?: Array<{ const: string }> };
  return union.anyOf?.map((literal) => literal.const);
}

/** The declared parameters in declaration order, for `--help`, forms and reports. */
export function parameterFields(parameters: TObject): ParameterField[] {
  return Object.entries(parameters.properties).map(([name, schema]) => {
    const s = asMeta(schema);
    const field: ParameterField = {
      name,
      kind: s['x-kind'],
      label: s.title,
      help: s.description,
      required: s.default === undefined,
    };
    if (s.default !== undefined) field.default = s.default;
    if (typeof s.minimum === 'number') field.min = s.minimum;
    if (typeof s.maximum === 'number') field.max = s.maximum;
    if (typeof s.maxLength === 'number') field.maxLength = s.maxLength;
    if (typeof s.pattern === 'string') field.pattern = s.pattern;
    const choices = choicesOf(s);
    if (choices) field.choices = choices;
    if (s['x-flag']) field.flag = s['x-flag'];
    return field;
  });
}

const count = (n: number) => n.toLocaleString('en-US');

/** What a field takes, in words: the end of "--older-than-days must be …". */
export function expectation(field: ParameterField): string {
  switch (field.kind) {
    case 'integer':
      return `a whole number from ${count(field.min!)} to ${count(field.max!)}`;
    case 'text':
      return `text of at most ${count(field.maxLength!)} characters${field.pattern ? ` matching ${field.pattern}` : ''}`;
    case 'choice':
      return `one of ${field.choices!.join(', ')}`;
    case 'choices':
      return `one or more of ${field.choices!.join(', ')}`;
    case 'boolean':
      return 'true or false';
    case 'date':
      return 'a date as YYYY-MM-DD';
    case 'datetime':
      return 'a date and time with its zone, such as 2026-12-05T09:30:00Z';
    case 'tenants':
      return 'one or more tenant external ids';
  }
}

/**
 * Refused parameters, by name; `message` names them all. Each surface shows a problem by its
 * own field (the console's input, the CLI's flag).
 */
export class ParameterRefusal extends RunbookRefusal {
  constructor(readonly problems: Record<string, string>) {
    super(
      'invalid_parameters',
      Object.entries(problems)
        .map(([name, problem]) => `${name}: ${problem}`)
        .join('; '),
    );
  }
}

/** A value as the surfaces deliver it (form and flag text, or JSON), made the declared type where it can be. */
function converted(field: ParameterField, schema: TSchema, raw: unknown): unknown {
  let value = raw;
  if (typeof value === 'string' && field.kind !== 'text') value = value.trim();
  if (field.kind === 'choices' || field.kind === 'tenants') {
    const items: unknown[] = Array.isArray(value) ? (value as unknown[]) : [value];
    // "a,b" and repeated fields alike; blanks are nothing chosen.
    value = items.flatMap((item) => (typeof item === 'string' ? item.split(',') : [item]));
    value = (value as unknown[]).map((item) => (typeof item === 'string' ? item.trim() : item)).filter((i) => i !== '');
    value = [...new Set(value as unknown[])];
  }
  if (field.kind === 'boolean' && (value === 'on' || value === 'yes')) value = true;
  if (field.kind === 'boolean' && (value === 'no' || value === '')) value = false;
  // A datetime-local field sends no zone: the form says it is UTC.
  if (field.kind === 'datetime' && typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value))
    value = `${value.length === 16 ? `${value}:00` : value}Z`;
  // Integers only from whole decimal text: Convert would take "1e3" or "0x10". Nor is a number
  // converted: Convert would truncate 7.5 to 7, where it must be refused.
  if (field.kind === 'integer' && typeof value === 'string') return /^-?\d{1,16}$/.test(value) ? Number(value) : value;
  if (field.kind === 'integer') return value;
  return Value.Convert(schema, value);
}

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0);
}

/** The canonical form, so that equal choices hash equal: lists in declared (or sorted) order, instants in UTC. */
function canonical(field: ParameterField, value: unknown): unknown {
  if (field.kind === 'choices') return field.choices!.filter((choice) => (value as string[]).includes(choice));
  if (field.kind === 'tenants') return [...(value as string[])].sort();
  if (field.kind === 'datetime') return new Date(value as string).toISOString();
  return value;
}

/**
 * The parameters of a start or a preflight, checked against the declaration in one place:
 * unknown names refused, values converted from text, defaults filled in, every bound enforced,
 * and the result canonical (keys in declared order) so that equal choices compare and hash equal.
 */
export function parseParameters<P extends TObject>(parameters: P, raw: Record<string, unknown> = {}): Static<P> {
  const fields = parameterFields(parameters);
  const problems: Record<string, string> = {};
  const known = new Set(fields.map((field) => field.name));
  for (const name of Object.keys(raw)) {
    if (!known.has(name)) {
      problems[name] =
        `is not a parameter of this runbook (${fields.length ? `it takes ${[...known].join(', ')}` : 'it takes none'})`;
    }
  }
  const values: Record<string, unknown> = {};
  for (const field of fields) {
    const schema = parameters.properties[field.name]!;
    const given = raw[field.name];
    if (isEmpty(given) && field.kind !== 'boolean') {
      if (field.required) problems[field.name] = `is required: give ${expectation(field)}`;
      else values[field.name] = canonical(field, Value.Clone(field.default));
      continue;
    }
    const value = given === undefined ? Value.Clone(field.default) : converted(field, schema, given);
    if (!Value.Check(schema, value)) {
      problems[field.name] = `must be ${expectation(field)}`;
      continue;
    }
    if (field.kind === 'datetime' && Number.isNaN(Date.parse(value as string))) {
      problems[field.name] = `must be ${expectation(field)}`;
      continue;
    }
    values[field.name] = canonical(field, value);
  }
  if (Object.keys(problems).length) throw new ParameterRefusal(problems);
  return values as Static<P>;
}

/** Whether two canonical parameter sets are the same choice (jsonb keeps keys in an order of its own). */
export function sameParameters(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = Object.keys(a);
  return (
    keys.length === Object.keys(b).length &&
    keys.every((key) => key in b && JSON.stringify(a[key]) === JSON.stringify(b[key]))
  );
}

/** Stored values (jsonb reorders keys) in the runbook's declared order, for people; unknown ones last. */
export function inDeclaredOrder(parameters: TObject, values: Record<string, unknown>): Array<[string, unknown]> {
  const declared = Object.keys(parameters.properties).filter((name) => name in values);
  const rest = Object.keys(values).filter((name) => !(name in parameters.properties));
  return [...declared, ...rest].map((name) => [name, values[name]]);
}

/** A value for people: lists joined, booleans as yes/no, the empty text as a dash. */
export function parameterText(value: unknown): string {
  if (Array.isArray(value)) return value.join(', ');
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (value === '' || value === null || value === undefined) return '—';
  return typeof value === 'string' ? value : JSON.stringify(value);
}
