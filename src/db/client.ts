import { createTableRelationsHelpers, extractTablesRelationalConfig } from "drizzle-orm";
import { DrizzleD1Database, drizzle, SQLiteD1Session } from "drizzle-orm/d1";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import type { Db } from "../platform/types";
import * as schema from "./schema";

// drizzle() walks the whole schema (extractTablesRelationalConfig) on every call: 12% of the
// REST profile when done per request. The client holds no per-request state, so one per D1
// binding per isolate is enough. Only platform/deps.ts calls this.
const dbs = new WeakMap<D1Database, Db>();

/** The isolate's drizzle client for a D1 binding. */
export function dbFor(d1: D1Database): Db {
  let db = dbs.get(d1);
  if (!db) {
    db = drizzle(d1, { schema }) as Db;
    dbs.set(d1, db);
  }
  return db;
}

// A D1 session (Sessions API, read replicas) lives for one request, so its client cannot be
// cached like dbFor's. drizzle() would re-walk the schema each time; this builds the same
// objects drizzle() builds, from a relational config walked once per isolate.
let relational: ConstructorParameters<typeof SQLiteD1Session>[2];
const dialect = new SQLiteAsyncDialect();

/**
 * A drizzle client over one request's D1 session (platform/d1-session.ts). drizzle's D1 driver
 * only calls `prepare` and `batch` on its client (d1/session.js), which is exactly what a
 * D1DatabaseSession has; it never calls `exec` or `dump`, which a session lacks.
 */
export function dbForSession(session: D1DatabaseSession): Db {
  if (!relational) {
    const tables = extractTablesRelationalConfig(schema, createTableRelationsHelpers);
    relational = { fullSchema: schema, schema: tables.tables, tableNamesMap: tables.tableNamesMap };
  }
  // The cast is the one place a session stands in for the binding type drizzle declares.
  const client = session as unknown as D1Database;
  const db = new DrizzleD1Database(
    "async",
    dialect,
    new SQLiteD1Session(client, dialect, relational),
    relational,
  );
  return Object.assign(db, { $client: session }) as unknown as Db;
}
