import { createRoute, z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { UNAVAILABLE_RETRY_AFTER_S } from "./errors";
import { errorResponses, retryAfterHeader } from "./openapi";
import { createRouter } from "./router";

const healthSchema = z
  .object({
    status: z.enum(["ok", "degraded"]),
    checks: z.object({ d1: z.object({ ok: z.boolean(), latency_ms: z.number() }) }),
    time: z.string(),
  })
  .openapi("Health");

const route = createRoute({
  method: "get",
  path: "/health",
  operationId: "getHealth",
  tags: ["platform"],
  summary: "Liveness and D1 reachability",
  responses: {
    200: { description: "Healthy", content: { "application/json": { schema: healthSchema } } },
    503: {
      description: "D1 unreachable",
      headers: retryAfterHeader,
      content: { "application/json": { schema: healthSchema } },
    },
    // authenticate runs on every /api/v1 route: a present but bad token is a 401 here too.
    ...errorResponses("UNAUTHENTICATED"),
  },
});

export const healthRouter = createRouter().openapi(route, async (c) => {
  const started = performance.now();
  let ok = true;
  try {
    await c.var.deps.db.run(sql`select 1`);
  } catch (err) {
    ok = false;
    c.var.logger.error("health: d1 unreachable", { err });
  }
  const body = {
    status: ok ? ("ok" as const) : ("degraded" as const),
    checks: { d1: { ok, latency_ms: Math.round((performance.now() - started) * 100) / 100 } },
    time: new Date().toISOString(),
  };
  // Degraded is transient (a D1 blip): like every 503, it says when to look again.
  return ok ? c.json(body, 200) : c.json(body, 503, { "Retry-After": String(UNAVAILABLE_RETRY_AFTER_S) });
});
