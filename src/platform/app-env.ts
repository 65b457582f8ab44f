import type { Config } from "./config";
import type { Deps } from "./deps";
import type { Logger } from "./logger";
import type { Principal } from "./types";

/** Hono generics shared by createApp() and every router. */
export type AppEnv = {
  Bindings: Env;
  Variables: {
    requestId: string;
    /** The request's services (platform/deps.ts); config and logger are the same objects. */
    deps: Deps;
    /** The request's D1 session under /api/v1 (platform/d1-session.ts); `deps.db` runs on it. */
    dbSession?: D1DatabaseSession;
    /** The same for ANALYTICS_DB, with its own bookmark header; `deps.analyticsDb` runs on it. */
    analyticsSession?: D1DatabaseSession;
    config: Config;
    logger: Logger;
    principal?: Principal;
  };
};
