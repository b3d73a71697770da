import { expectation, parameterFields, parameterText } from '../../runbooks/parameters.js';
import { RUNBOOKS } from '../../runbooks/registry.js';
import { printResult } from '../output.js';
import { flagOf } from '../parameterFlags.js';

/** The catalog as data: what each runbook does, counts, writes, who may start it, and its parameters. */
function catalog() {
  return RUNBOOKS.map((runbook) => ({
    id: runbook.id,
    cliName: runbook.cliName,
    title: runbook.title,
    description: runbook.description,
    unit: runbook.unit,
    writes: runbook.writes,
    deployTriggered: runbook.deployTriggered,
    customerTrigger: Boolean(runbook.customerTrigger),
    parameters: parameterFields(runbook.parameters),
  }));
}

function catalogText(): string {
  return catalog()
    .flatMap((runbook) => [
      `${runbook.cliName} (${runbook.id}) — ${runbook.title}`,
      `  ${runbook.description}`,
      `  counts ${runbook.unit}; writes ${runbook.writes}${runbook.deployTriggered ? '; run by the deploy hook' : ''}` +
        `${runbook.customerTrigger ? '; customers may start it for their own tenant' : ''}`,
      ...(runbook.parameters.length
        ? runbook.parameters.map(
            (field) =>
              `  ${flagOf(field)}: ${field.label}, ${expectation(field)}` +
              `${field.required ? ', required' : `, default ${parameterText(field.default)}`}`,
          )
        : ['  no parameters']),
      '',
    ])
    .join('\n')
    .trimEnd();
}

export function runbooksList(options: { json?: boolean }): void {
  printResult(Boolean(options.json), catalog(), catalogText);
}
