// One query on a fresh connection with short timeouts: for readiness checks and tests, where a
// pooled connection to a node that just died would hide what a new client sees.
import pg from 'pg';

export async function queryOnce<R extends Record<string, unknown> = Record<string, unknown>>(
  url: string,
  sql: string,
  params: readonly unknown[] = [],
  timeoutMs = 2_000,
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs, statement_timeout: timeoutMs });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<R>(sql, [...params])).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}
