import { hostname, userInfo } from 'node:os';
import type { Initiator } from '../runbooks/initiator.js';

/** An engineer at the CLI, named as user@host in runs and the audit trail. */
export function cliInitiator(): Initiator {
  return { kind: 'cli', label: `cli:${userInfo().username}@${hostname()}` };
}
