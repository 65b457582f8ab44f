import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../platform/app-env";
import type { exportRoute } from "./export.routes";
import { EXPORT_CONTENT_TYPES, exportEvents } from "./export.service";

export const exportHandler: RouteHandler<typeof exportRoute, AppEnv> = (c) => {
  const q = c.req.valid("query");
  const stream = exportEvents(c.var.deps, q);
  const name = `analytics-${new Date(q.from).toISOString().slice(0, 10)}.${q.format}`;
  return c.body(stream, 200, {
    "content-type": EXPORT_CONTENT_TYPES[q.format],
    "content-disposition": `attachment; filename="${name}"`,
    "cache-control": "no-store",
  });
};
