import proto from '@temporalio/proto';
import { firstLine } from '../errors.js';
import { OperationRunIdKey, RunbookKey, TenantExternalIdKey } from '../workflows/searchAttributes.js';

/** The project's search attributes, all keywords, so operators can find a run's workflows. */
export const SEARCH_ATTRIBUTE_NAMES = [OperationRunIdKey.name, RunbookKey.name, TenantExternalIdKey.name];

type OperatorService = proto.temporal.api.operatorservice.v1.OperatorService;

export type SearchAttributeSetup =
  { ok: true; registered: string[] } | { ok: false; missing: string[]; error: string; command: string };

/** The `temporal` command an operator with the permission runs to add what is missing. */
function createCommand(namespace: string, names: string[]): string {
  return `temporal operator search-attribute create --namespace ${namespace} ${names.map((name) => `--name ${name} --type Keyword`).join(' ')}`;
}

/**
 * Registers the project's search attributes on the namespace through the operator service,
 * when they are missing and the server allows it (the dev server, a self-hosted cluster).
 * Where that is refused (Temporal Cloud without the permission, an older server), runs are
 * started without them; the result says what is missing and how to add it.
 */
export async function ensureSearchAttributes(
  operator: OperatorService,
  namespace: string,
): Promise<SearchAttributeSetup> {
  let missing = SEARCH_ATTRIBUTE_NAMES;
  try {
    const existing = await operator.listSearchAttributes({ namespace });
    missing = SEARCH_ATTRIBUTE_NAMES.filter((name) => !(name in (existing.customAttributes ?? {})));
    if (missing.length === 0) return { ok: true, registered: [] };
    const keyword = proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
    await operator.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((name) => [name, keyword])),
    });
    return { ok: true, registered: missing };
  } catch (error) {
    return { ok: false, missing, error: firstLine(error), command: createCommand(namespace, missing) };
  }
}

/** Whether Temporal refused a start because the namespace lacks a search attribute. */
export function isMissingSearchAttribute(error: unknown): boolean {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if (
      /search attribute/i.test(current.message) ||
      /search attribute/i.test(String((current as { details?: string }).details ?? ''))
    ) {
      return true;
    }
  }
  return false;
}
