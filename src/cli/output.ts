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
 * every `intervalMs` (and the final one), so logs stay short.
 */
export function liveProgress(intervalMs = 5_000): { update(line: string, final?: boolean): void; done(): void } {
  const tty = Boolean(process.stderr.isTTY);
  let lastWrite = 0;
  let inPlace = false;
  return {
    update(line, final = false) {
      if (tty) {
        process.stderr.write(`\r${line}\u001b[K`);
        inPlace = true;
        return;
      }
      const now = Date.now();
      if (final || now - lastWrite >= intervalMs) {
        lastWrite = now;
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
