import { writeFile } from 'node:fs/promises';
import { UsageError } from '../../errors.js';
import type { ExportFormat } from '../../runbooks/exportFormats.js';
import { exportCsv, exportRun } from '../../runbooks/exportRun.js';
import { withDeps } from '../deps.js';
import { withCliHint } from '../hints.js';
import { cliInitiator } from '../initiator.js';
import { printable } from '../printable.js';

export async function runsExport(id: string, options: { format: ExportFormat; output?: string }): Promise<void> {
  await withDeps(async ({ database }) => {
    const exported = await exportRun(database.pool, { runId: id, initiator: cliInitiator() }).catch(
      (error: unknown) => {
        throw withCliHint(error);
      },
    );
    const text = options.format === 'csv' ? exportCsv(exported) : `${JSON.stringify(exported, null, 2)}\n`;
    if (!options.output) return void process.stdout.write(text);
    await writeFile(options.output, text).catch((error: NodeJS.ErrnoException) => {
      throw new UsageError(
        `Cannot write ${printable(options.output!, 200)} (${error.code ?? error.message}); choose a writable path.`,
      );
    });
    process.stderr.write(
      `Wrote run ${exported.run.id} (${exported.items.length} items, ${exported.audit.length} audit events) to ${printable(options.output, 200)}.\n`,
    );
  });
}
