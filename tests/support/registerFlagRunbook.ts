import { useFlagRunbook } from './flagRunbook.js';

/**
 * Registers the engine tests' runbook (flagRunbook.ts) in the process that imports this file:
 * the harness does, and so does a child process that an engine test starts (the worker command,
 * the CLI) with TEST_RUNBOOK_IMPORT (cli.ts), so that it knows the runbook of the test's runs.
 */
useFlagRunbook();
