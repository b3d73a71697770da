import { drizzle } from 'drizzle-orm/node-postgres';
import type pg from 'pg';
import type { Db } from './client.js';
import * as schema from './schema/index.js';

/** A pool, or a client inside the caller's transaction: repository functions take either. */
export type Connection = pg.Pool | pg.PoolClient;

const instances = new WeakMap<Connection, Db>();

/** The drizzle query builder over a pool or a transaction's client (one per connection). */
export function orm(connection: Connection): Db {
  let db = instances.get(connection);
  if (!db) {
    db = drizzle(connection, { schema });
    instances.set(connection, db);
  }
  return db;
}
