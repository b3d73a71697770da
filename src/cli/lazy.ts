/**
 * A command's action that loads its module when that command runs, and not before: every
 * invocation registers every command, so what a registration imports, `--help` and `runs list`
 * pay for too (the Temporal worker, Fastify and the workflow code would cost them a second).
 */
export function lazyAction<Args extends unknown[]>(
  load: () => Promise<(...args: Args) => unknown>,
): (...args: Args) => Promise<void> {
  return async (...args) => {
    await (
      await load()
    )(...args);
  };
}
