import type { DrizzleD1Database } from "drizzle-orm/d1";
import type * as schema from "../db/schema";
import type { Principal } from "./auth";
import type { Config } from "./config";
import type { Logger } from "./logger";

export type Db = DrizzleD1Database<typeof schema>;

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
