import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./app-env";
import { enforceLimit, type Limiter } from "./limits";

type Options = {
  /** Picks the binding from env, so the same middleware serves any limiter. */
  binding: (env: Env) => Limiter;
  /** Key for the caller; defaults to the authenticated user, else the client IP. */
  key?: (c: Parameters<Parameters<typeof createMiddleware<AppEnv>>[0]>[0]) => string;
  /** Seconds sent in Retry-After; the binding's window. */
  retryAfter?: number;
  prefix: string;
};

/** Workers rate-limit binding as middleware: 429 with Retry-After when exceeded. */
export function rateLimit(opts: Options) {
  return createMiddleware<AppEnv>(async function rateLimit(c, next) {
    const who = opts.key
      ? opts.key(c)
      : (c.var.principal?.userId ?? c.req.header("cf-connecting-ip") ?? "anon");
    await enforceLimit(opts.binding(c.env), `${opts.prefix}:${who}`, opts.retryAfter);
    await next();
  });
}
