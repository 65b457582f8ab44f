import type { DrizzleD1Database } from "drizzle-orm/d1";
import type * as schema from "../db/schema";
import type { Config } from "./config";
import type { Logger } from "./logger";

export const ROLES = ["user", "merchant", "admin", "service"] as const;
export type Role = (typeof ROLES)[number];

/** The verified caller. Never built from request bodies, only from a verified token. */
export type Principal = { userId: string; role: Role; merchantId: string | null };

/**
 * `$client` is what drizzle runs on, for the few hot paths that send static SQL (analytics
 * ingest): the D1 binding, or a request's D1 session (platform/d1-session.ts), so only the
 * methods both have.
 */
export type D1Client = Pick<D1Database, "prepare" | "batch">;
export type Db = DrizzleD1Database<typeof schema> & { $client: D1Client };

/**
 * The services every piece of code may use. Event sinks receive exactly this (platform/deps.ts
 * adds Stripe and the sink list for the code that publishes), which keeps events/ free of a
 * dependency on the deps factory.
 */
export type BaseDeps = {
  readonly env: Env;
  readonly db: Db;
  /**
   * The same database as `db` without drizzle, for static SQL on hot paths (the history page):
   * a request's session client is built per request, and building it showed in the profile.
   */
  readonly d1: D1Client;
  /** ANALYTICS_DB: raw events, rollups, ingest budgets. Never joined with `db` in SQL. */
  readonly analyticsDb: Db;
  readonly config: Config;
  readonly logger: Logger;
};
