import { principalOf } from "../platform/auth";
import { createRouter } from "../platform/router";
import { ingestEvents } from "./ingest";
import { eraseUserEvents } from "./privacy";
import { userBehavior } from "./reports/behavior";
import { conversionFunnel } from "./reports/funnel";
import { isoRange, resolveRange } from "./reports/range";
import { retention } from "./reports/retention";
import { revenue } from "./reports/revenue";
import { behaviorRoute, eraseRoute, funnelRoute, ingestRoute, retentionRoute, revenueRoute } from "./routes";

export const analyticsRouter = createRouter()
  .openapi(ingestRoute, async (c) => {
    const { events } = c.req.valid("json");
    const result = await ingestEvents(
      { db: c.var.db, ae: c.env.ANALYTICS, logger: c.var.logger },
      events,
      c.var.principal?.userId ?? null,
      Date.now(),
    );
    return c.json(result, 202);
  })
  .openapi(behaviorRoute, async (c) => {
    const q = c.req.valid("query");
    const range = resolveRange(q, Date.now());
    const body = await userBehavior(c.var.db, range, q.tz);
    return c.json({ range: isoRange(range), ...body }, 200);
  })
  .openapi(funnelRoute, async (c) => {
    const q = c.req.valid("query");
    const range = resolveRange(q, Date.now());
    const steps = await conversionFunnel(c.var.db, range, q.steps, q.window);
    return c.json({ range: isoRange(range), window_ms: q.window, steps }, 200);
  })
  .openapi(revenueRoute, async (c) => {
    const q = c.req.valid("query");
    const range = resolveRange(q, Date.now());
    const body = await revenue(c.var.db, range, q.interval);
    return c.json({ range: isoRange(range), ...body }, 200);
  })
  .openapi(retentionRoute, async (c) => {
    const q = c.req.valid("query");
    const range = resolveRange(q, Date.now());
    const body = await retention(c.var.db, range, q.cohort, q.periods);
    return c.json({ range: isoRange(range), ...body }, 200);
  })
  .openapi(eraseRoute, async (c) => {
    const { id } = c.req.valid("param");
    const admin = principalOf(c);
    const deleted = await eraseUserEvents(c.var.db, id);
    c.var.logger.info("analytics events erased", { user_id: id, deleted, by: admin.userId });
    return c.json({ user_id: id, deleted }, 200);
  });
