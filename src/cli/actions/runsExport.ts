import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import type { ExportFormat } from '../../runbooks/exportFormats.js';
import { exportCsv, exportRun } from '../../runbooks/exportRun.js';
import { withDeps } from '../deps.js';
import { withCliHint } from '../hints.js';
import { cliInitiator } from '../initiator.js';
import { printResult } from '../output.js';
import { printable } from '../printable.js';

/**
 * With `--json` standard output carries only JSON: the export itself (so its format is JSON
 * unless `--format` says otherwise for a file), or, with `--output`, what was written where.
 */
export async function runsExport(
  id: string,
  options: { format?: ExportFormat; output?: string; json?: boolean },
): Promise<void> {
  const json = Boolean(options.json);
  const format = options.format ?? (json ? 'json' : 'csv');
  if (json && format !== 'json' && !options.output) {
    throw new UsageError(
      `--json prints the export as JSON, not as ${format}; leave out --json, or add --output <file> to write the ${format} there.`,
    );
  }
  await withDeps(async ({ database }) => {
    const exported = await exportRun(database.pool, { runId: id, initiator: cliInitiator() }).catch(
      (error: unknown) => {
        throw withCliHint(error);
      },
    );
    const text = format === 'csv' ? exportCsv(exported) : `${JSON.stringify(exported, null, 2)}\n`;
    if (!options.output) return void process.stdout.write(text);
    await writeFile(options.output, text).catch((error: NodeJS.ErrnoException) => {
      throw new UsageError(
        `Cannot write ${printable(options.output!, 200)} (${error.code ?? error.message}); choose a writable path.`,
      );
    });
    const written = {
      runId: exported.run.id,
      format,
      output: resolve(options.output),
      items: exported.items.length,
      auditEvents: exported.audit.length,
    };
    printResult(
      json,
      written,
      () =>
        `Wrote run ${written.runId} as ${format} (${written.items} items, ${written.auditEvents} audit events) to ${printable(written.output, 200)}.`,
    );
  });
}
