import { CommanderError } from 'commander';
import { runEntryPoint } from '../entryPoint.js';
import { buildProgram } from './program.js';

runEntryPoint(async () => {
  try {
    await (await buildProgram()).parseAsync(process.argv);
  } catch (error) {
    // Commander has already printed its one-line message (or the help text).
    if (!(error instanceof CommanderError)) throw error;
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  }
});
