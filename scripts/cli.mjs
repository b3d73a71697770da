// `npm run cli -- <command>`: the compiled CLI (dist/cli), compiled again first when any file it was
// built from changed since. The check stats those files only: a few milliseconds.
import { pathToFileURL } from 'node:url';
import { buildCli, CLI_ENTRY, isCliFresh } from '../src/cli/compile.mjs';

if (!isCliFresh()) await buildCli();
await import(pathToFileURL(CLI_ENTRY).href);
