import type { QueryResult, QueryResultRow } from 'pg';

/**
 * What the raw-SQL modules need from a connection: a pg Pool, a PoolClient inside a
 * transaction, or a Client all fit, so callers choose the transaction boundary.
 */
export interface Queryable {
  query<Row extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<Row>>;
}
