import type { DrizzleD1Database } from "drizzle-orm/d1";
import type * as schema from "../db/schema";
import type { Principal } from "./auth";
import type { Config } from "./config";
import type { Logger } from "./logger";

/** `$client` is the D1 binding, for the few hot paths that send static SQL (analytics ingest). */
export type Db = DrizzleD1Database<typeof schema> & { $client: D1Database };

/** Hono generics shared by createApp() and every router. */
export type AppEnv = {
  Bindings: Env;
  Variables: {
    requestId: string;
    config: Config;
    db: Db;
    logger: Logger;
    principal?: Principal;
  };
};
