import { drizzle } from "drizzle-orm/d1";
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
