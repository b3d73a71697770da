/** Prints a result either as JSON (for machines) or as the given human lines. */
export function printResult(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

/** Progress lines go to stderr so that stdout stays parseable with --json. */
export function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * Progress of long work on stderr: on a terminal one line rewritten in place; otherwise a line
 * when it changed, at most one every `intervalMs` unless `now` (the final line, or a change to
 * say at once), so logs stay short and work that waits says so once, not every few seconds.
 */
export function liveProgress(intervalMs = 5_000): { update(line: string, now?: boolean): void; done(): void } {
  const tty = Boolean(process.stderr.isTTY);
  let lastWrite = 0;
  let written: string | null = null;
  let inPlace = false;
  return {
    update(line, now = false) {
      if (tty) {
        process.stderr.write(`\r${line}\u001b[K`);
        inPlace = true;
        return;
      }
      const at = Date.now();
      if (line !== written && (now || at - lastWrite >= intervalMs)) {
        lastWrite = at;
        written = line;
        progress(line);
      }
    },
    done() {
      if (inPlace) process.stderr.write('\n');
      inPlace = false;
    },
  };
}

/** An instant as the CLI prints it: ISO 8601, or `-` when it has not happened. */
export const instant = (date: Date | null) => (date ? new Date(date).toISOString() : '-');

/** Rows as aligned columns, each as wide as its widest cell (the last one unpadded), a line per row. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  '),
    )
    .join('\n');
}
