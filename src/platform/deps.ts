import type Stripe from "stripe";
import { dbFor, dbForSession } from "../db/client";
import type { EventSink } from "../events/types";
import { stripeClient } from "../payments/stripe-client";
import { getConfig } from "./config";
import { createLogger } from "./logger";
import type { BaseDeps, Db } from "./types";

/**
 * What every service takes, wherever it runs: the HTTP init middleware, the queue consumers,
 * the cron and both Durable Objects build it with `createDeps`, so a service never cares
 * which entry point called it.
 */
export type Deps = BaseDeps & {
  /** Built on first use: most requests never talk to Stripe. */
  readonly stripe: Stripe;
  /** Where published domain events go; registered by the composition root (src/sinks.ts). */
  readonly sinks: readonly EventSink[];
};

export type DepsOptions = {
  sinks: readonly EventSink[];
  /** Fields every log line of this invocation carries (request id, queue, cron, object). */
  log?: Record<string, unknown>;
  /** The request's D1 session (platform/d1-session.ts); without one, `db` is the binding's primary. */
  dbSession?: D1DatabaseSession;
  /** The request's ANALYTICS_DB session; without one, `analyticsDb` is that binding's primary. */
  analyticsSession?: D1DatabaseSession;
};

/**
 * Config and the primary's drizzle client are cached per isolate (config.ts, db/client.ts). A
 * session's client is built per request, so each database's is built on first use: an ingest
 * request never touches DB, and building both showed in the ingest profile (BENCHMARKS.md).
 */
export function createDeps(env: Env, opts: DepsOptions): Deps {
  const config = getConfig(env);
  let db: Db | undefined;
  let analyticsDb: Db | undefined;
  return {
    env,
    get db() {
      db ??= opts.dbSession ? dbForSession(opts.dbSession) : dbFor(env.DB);
      return db;
    },
    d1: opts.dbSession ?? env.DB,
    get analyticsDb() {
      analyticsDb ??= opts.analyticsSession ? dbForSession(opts.analyticsSession) : dbFor(env.ANALYTICS_DB);
      return analyticsDb;
    },
    config,
    logger: createLogger(opts.log ?? {}, config.LOG_LEVEL),
    get stripe() {
      return stripeClient(config);
    },
    sinks: opts.sinks,
  };
}
