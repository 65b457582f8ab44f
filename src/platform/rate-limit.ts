import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./app-env";
import { clientNetwork } from "./client-ip";
import { LimitPrecheck, type Precheck } from "./limit-precheck";
import { enforceLimit, type Limiter } from "./limits";

type Options = {
  /** Picks the binding from env, so the same middleware serves any limiter. */
  binding: (env: Env) => Limiter;
  /** Key for the caller; defaults to the authenticated user, else the client network (client-ip.ts). */
  key?: (c: Parameters<Parameters<typeof createMiddleware<AppEnv>>[0]>[0]) => string;
  /** Seconds sent in Retry-After; the binding's window. */
  retryAfter?: number;
  prefix: string;
  /** Skip the wait for the binding while a caller is obviously under the limit (limit-precheck.ts). */
  precheck?: Precheck;
};

/** A caller without a user: its client network (client-ip.ts), or one shared key without the header. */
const anonymousKey = (ip: string | undefined) => (ip ? clientNetwork(ip) : "anon");

/** Workers rate-limit binding as middleware: 429 with Retry-After when exceeded. */
export function rateLimit(opts: Options) {
  const precheck = opts.precheck ? new LimitPrecheck(opts.precheck) : null;
  return createMiddleware<AppEnv>(async function rateLimit(c, next) {
    const who = opts.key
      ? opts.key(c)
      : (c.var.principal?.userId ?? anonymousKey(c.req.header("cf-connecting-ip")));
    const key = `${opts.prefix}:${who}`;
    if (precheck) {
      const defer = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
      await precheck.take(opts.binding(c.env), key, defer, opts.retryAfter);
    } else await enforceLimit(opts.binding(c.env), key, opts.retryAfter);
    await next();
  });
}

/**
 * Counts failed authentications per client network (`CF-Connecting-IP`: an IPv4 address or an
 * IPv6 /64, client-ip.ts, so rotating addresses inside one's /64 gains nothing): each answer of 401 from
 * the rest of the chain takes one from the binding, and once the IP's budget is spent its
 * failures are answered 429 with Retry-After instead. For routes whose per-user limit can
 * only apply after a token verified (WebSocket upgrades): without this a stream of bad
 * tokens or tickets was unlimited. Successful requests take nothing, so users behind one
 * NAT are not limited by each other's sockets. Without the header (never the case behind
 * Cloudflare, which sets it) there is no client to key on and nothing is counted.
 */
export function limitFailedAuth(opts: Omit<Options, "key">) {
  return createMiddleware<AppEnv>(async function limitFailedAuth(c, next) {
    await next();
    const ip = c.req.header("cf-connecting-ip");
    if (c.res.status !== 401 || !ip) return;
    await enforceLimit(opts.binding(c.env), `${opts.prefix}:${clientNetwork(ip)}`, opts.retryAfter);
  });
}
