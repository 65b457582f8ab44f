import { createMiddleware } from "hono/factory";
import { ApiError } from "./errors";
import type { AppEnv } from "./types";

type Limiter = { limit(opts: { key: string }): Promise<{ success: boolean }> };

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
    await consumeLimit(opts.binding(c.env), `${opts.prefix}:${who}`, opts.retryAfter);
    await next();
  });
}

/**
 * One hit on `key`; throws RATE_LIMITED (429 with Retry-After, the binding's window) when over
 * the limit. For callers known only inside a handler (a socket's token in its subprotocol).
 */
export async function consumeLimit(limiter: Limiter, key: string, retryAfter = 60): Promise<void> {
  const { success } = await limiter.limit({ key });
  if (!success) {
    throw new ApiError("RATE_LIMITED", "Too many requests; retry later", {
      headers: { "Retry-After": String(retryAfter) },
    });
  }
}
