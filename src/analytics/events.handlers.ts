import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../platform/app-env";
import { principalOf } from "../platform/auth";
import type { eraseRoute, ingestRoute } from "./events.routes";
import { eraseUserEvents, ingestEvents } from "./events.service";

export const ingestHandler: RouteHandler<typeof ingestRoute, AppEnv> = async (c) => {
  const { events } = c.req.valid("json");
  // Cloudflare sets CF-Connecting-IP on every request; without it (local tools) one shared budget.
  const ip = c.req.header("cf-connecting-ip") ?? "unknown";
  const userAgent = c.req.header("user-agent") ?? null;
  const userId = c.var.principal?.userId ?? null;
  return c.json(await ingestEvents(c.var.deps, events, userId, ip, Date.now(), userAgent), 202);
};

export const eraseHandler: RouteHandler<typeof eraseRoute, AppEnv> = async (c) => {
  const { id } = c.req.valid("param");
  return c.json(await eraseUserEvents(c.var.deps, principalOf(c), id), 200);
};
