import fc from 'fast-check';
import type { TObject } from 'typebox';
import { expect } from 'vitest';
import {
  parameterFields,
  ParameterRefusal,
  parseParameters,
  type ParameterField,
} from '../../src/runbooks/parameters.js';

/** Values a field must take: inside every bound its declaration draws. */
function inBounds(field: ParameterField): fc.Arbitrary<unknown> {
  switch (field.kind) {
    case 'integer':
      return fc.integer({ min: field.min!, max: field.max! }).chain((n) => fc.constantFrom<unknown>(n, String(n)));
    case 'text': {
      const text = field.pattern ? fc.stringMatching(new RegExp(field.pattern)) : fc.string();
      return text.filter((value) => value.length <= field.maxLength!);
    }
    case 'choice':
      return fc.constantFrom(...field.choices!);
    case 'choices':
      return fc.subarray(field.choices!, { minLength: 1 });
    case 'boolean':
      return fc.boolean();
    case 'date':
      return fc
        .date({ min: new Date('1900-01-01'), max: new Date('2199-12-31'), noInvalidDate: true })
        .map((date) => date.toISOString().slice(0, 10));
    case 'datetime':
      return fc
        .date({ min: new Date('1900-01-01'), max: new Date('2199-12-31'), noInvalidDate: true })
        .map((date) => date.toISOString());
    case 'tenants':
      return fc.array(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/), {
        minLength: 1,
        maxLength: Math.min(field.max ?? 5, 5),
      });
  }
}

/** A string that is no choice, also once trimmed and split at commas as the surfaces do. */
const noChoice = (choices: string[]) =>
  fc.string({ minLength: 1 }).filter((s) => !s.includes(',') && s.trim() !== '' && !choices.includes(s.trim()));

/** Values a field must refuse: across each bound its declaration draws. */
function outOfBounds(field: ParameterField): fc.Arbitrary<unknown> {
  switch (field.kind) {
    case 'integer':
      return fc.oneof(
        fc.integer({ min: Number.MIN_SAFE_INTEGER, max: field.min! - 1 }),
        fc.integer({ min: field.max! + 1, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: field.min!, max: field.max! }).map((n) => n + 0.5),
        fc.constantFrom('1e3', '0x10', '12abc', '1.5', 'seven', 'NaN'),
      );
    case 'text':
      return fc.oneof(
        fc.string({ minLength: field.maxLength! + 1, maxLength: field.maxLength! + 40 }),
        ...(field.pattern
          ? [
              fc
                .string({ minLength: 1 })
                .filter((s) => s.length <= field.maxLength! && !new RegExp(field.pattern!).test(s)),
            ]
          : []),
      );
    case 'choice':
      return noChoice(field.choices!);
    case 'choices':
      return fc
        .tuple(fc.subarray(field.choices!), noChoice(field.choices!))
        .map(([chosen, wrong]) => [...chosen, wrong]);
    case 'boolean':
      return fc.constantFrom('maybe', '2', '-1', 'truthy');
    case 'date':
      return fc.constantFrom('26-01-01', '2026-13-01', '2026-1-1', 'yesterday', '2026-01-01T00:00:00Z');
    case 'datetime':
      return fc.constantFrom('yesterday', '2026-12-05 25:00', '2026-13-05T10:00:00Z', '12/05/2026 10:00');
    case 'tenants':
      return fc.oneof(
        fc.constantFrom(['../etc'], ['a b'], ['-leading'], [`x${'y'.repeat(100)}`]),
        fc.constant(Array.from({ length: (field.max ?? 1000) + 1 }, (_, i) => `t${i}`)),
      );
  }
}

function problemsOf(parameters: TObject, values: Record<string, unknown>): Record<string, string> {
  try {
    parseParameters(parameters, values);
  } catch (error) {
    expect(error).toBeInstanceOf(ParameterRefusal);
    return (error as ParameterRefusal).problems;
  }
  return {};
}

/**
 * A property over a runbook's declaration, whatever it declares: values inside every bound are
 * accepted and canonical (parsing the result again gives it back); a value across any bound of
 * any parameter, or a name it does not declare, is refused by that name alone.
 */
export function parameterBoundsProperty(parameters: TObject, seed: number): void {
  const fields = parameterFields(parameters);
  const valid = fc.record(Object.fromEntries(fields.map((field) => [field.name, inBounds(field)])));
  fc.assert(
    fc.property(valid, (values) => {
      const parsed = parseParameters(parameters, values);
      expect(parseParameters(parameters, parsed)).toEqual(parsed);
    }),
    { seed },
  );
  for (const field of fields) {
    fc.assert(
      fc.property(valid, outOfBounds(field), (values, wrong) => {
        const problems = problemsOf(parameters, { ...values, [field.name]: wrong });
        expect(Object.keys(problems), `${field.name} = ${JSON.stringify(wrong)}`).toEqual([field.name]);
      }),
      { seed },
    );
  }
  const unknownName = fc.string({ minLength: 1, maxLength: 30 }).filter((name) => !(name in parameters.properties));
  fc.assert(
    fc.property(valid, unknownName, (values, name) => {
      expect(Object.keys(problemsOf(parameters, { ...values, [name]: '1' }))).toEqual([name]);
    }),
    { seed },
  );
}
