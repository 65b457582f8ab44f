import { type SQL, sql } from "drizzle-orm";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import type { Db } from "../../platform/types";

// drizzle's D1 batch does not take raw `db.all(sql)` queries, so report queries are
// rendered with the same dialect (parameters stay bound) and sent as one D1 batch:
// one round trip, one consistent snapshot for every part of a report.
const dialect = new SQLiteSyncDialect();

export type RowsOf<T> = { query: SQL; row?: T };
export const rows = <T>(query: SQL): RowsOf<T> => ({ query });

export async function batchAll<Q extends RowsOf<unknown>[]>(
  db: Db,
  queries: [...Q],
): Promise<{ [K in keyof Q]: Q[K] extends RowsOf<infer T> ? T[] : never }> {
  const d1 = db.$client;
  const statements = queries.map(({ query }) => {
    const { sql, params } = dialect.sqlToQuery(query);
    return d1.prepare(sql).bind(...params);
  });
  const results = await d1.batch(statements);
  return results.map((r) => r.results) as { [K in keyof Q]: Q[K] extends RowsOf<infer T> ? T[] : never };
}

/**
 * The bot filter every report applies (docs/analytics.md, "Bot filtering"): human rows only,
 * unless the caller asked for ?include_bots=true. `column` names the flag, e.g. "d.bot".
 */
export const botFilter = (includeBots: boolean, column = "bot"): SQL =>
  includeBots ? sql`1 = 1` : sql`${sql.raw(column)} = 0`;
