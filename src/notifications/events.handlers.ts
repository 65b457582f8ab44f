import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../platform/app-env";
import { principalOf } from "../platform/auth";
import type { ingestEventRoute } from "./events.routes";
import { ingestEvent } from "./events.service";

export const ingestEventHandler: RouteHandler<typeof ingestEventRoute, AppEnv> = async (c) => {
  const out = await ingestEvent(c.var.deps, principalOf(c), c.req.valid("json"));
  return out.duplicate ? c.json(out, 200) : c.json(out, 202);
};
