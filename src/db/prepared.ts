import type { Db } from './client.js';
import { orm, type Connection } from './orm.js';

const statements = new WeakMap<Connection, Map<string, unknown>>();

/**
 * A named drizzle statement, built the first time a connection asks for `name` and only
 * executed after that. For the reads every console request makes (a page, a poll): building a
 * query with drizzle costs more CPU in Node than PostgreSQL spends running it, and a named
 * statement is parsed once per connection by PostgreSQL too. `build` ends in `.prepare(name)`;
 * like PostgreSQL's own statement names, a name stands for one statement text only.
 */
export function prepared<Statement>(
  q: Connection,
  name: string,
  build: (db: Db, name: string) => Statement,
): Statement {
  let built = statements.get(q);
  if (!built) statements.set(q, (built = new Map<string, unknown>()));
  let statement = built.get(name) as Statement | undefined;
  if (statement === undefined) built.set(name, (statement = build(orm(q), name)));
  return statement;
}
