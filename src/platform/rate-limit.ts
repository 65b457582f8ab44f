import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./app-env";
import { LimitPrecheck, type Precheck } from "./limit-precheck";
import { enforceLimit, type Limiter } from "./limits";

type Options = {
  /** Picks the binding from env, so the same middleware serves any limiter. */
  binding: (env: Env) => Limiter;
  /** Key for the caller; defaults to the authenticated user, else the client IP. */
  key?: (c: Parameters<Parameters<typeof createMiddleware<AppEnv>>[0]>[0]) => string;
  /** Seconds sent in Retry-After; the binding's window. */
  retryAfter?: number;
  prefix: string;
  /** Skip the wait for the binding while a caller is obviously under the limit (limit-precheck.ts). */
  precheck?: Precheck;
};

/** Workers rate-limit binding as middleware: 429 with Retry-After when exceeded. */
export function rateLimit(opts: Options) {
  const precheck = opts.precheck ? new LimitPrecheck(opts.precheck) : null;
  return createMiddleware<AppEnv>(async function rateLimit(c, next) {
    const who = opts.key
      ? opts.key(c)
      : (c.var.principal?.userId ?? c.req.header("cf-connecting-ip") ?? "anon");
    const key = `${opts.prefix}:${who}`;
    if (precheck) {
      const defer = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
      await precheck.take(opts.binding(c.env), key, defer, opts.retryAfter);
    } else await enforceLimit(opts.binding(c.env), key, opts.retryAfter);
    await next();
  });
}
