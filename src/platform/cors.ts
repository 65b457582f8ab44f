import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./app-env";
import { getConfig } from "./config";
import { ANALYTICS_BOOKMARK_HEADER, BOOKMARK_HEADER } from "./d1-session";

// The bookmarks: a browser client reads its own writes across replicas (platform/d1-session.ts).
const BOOKMARKS = [BOOKMARK_HEADER, ANALYTICS_BOOKMARK_HEADER];
const ALLOW_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id", ...BOOKMARKS];
const ALLOW_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const EXPOSE_HEADERS = ["X-Request-Id", "Retry-After", ...BOOKMARKS];

function allowedOrigin(origin: string, env: Env): string | null {
  const allowed = getConfig(env).corsOrigins;
  return allowed.includes("*") || allowed.includes(origin) ? origin : null;
}

// Preflights are rare: Hono's middleware answers them.
const preflight = cors({
  origin: (origin, c) => allowedOrigin(origin, c.env),
  allowHeaders: ALLOW_HEADERS,
  allowMethods: ALLOW_METHODS,
  exposeHeaders: EXPOSE_HEADERS,
  maxAge: 600,
});
const exposeHeaders = EXPOSE_HEADERS.join(",");

/**
 * The same headers as hono/cors, set once on the final response. hono/cors touches `c.res`
 * before the handler runs, which makes Hono build a placeholder Response, copy it into the
 * handler's Response, then copy that again for `Vary`: three Response constructions per
 * request, the largest self-time frame in the REST profile (bench/notes/rest.md).
 */
export const apiCors = createMiddleware<AppEnv>(async function apiCors(c, next) {
  if (c.req.method === "OPTIONS") return preflight(c, next);
  const origin = allowedOrigin(c.req.header("origin") || "", c.env);
  await next();
  // Responses built by Hono (c.json, onError) have mutable headers, as secureHeaders assumes.
  const headers = c.res.headers;
  if (origin) headers.set("Access-Control-Allow-Origin", origin);
  headers.set("Access-Control-Expose-Headers", exposeHeaders);
  headers.append("Vary", "Origin");
});
