import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../platform/app-env";
import { principalOf } from "../platform/auth";
import type { deliveriesRoute, historyRoute, readAllRoute, readOneRoute } from "./history.routes";
import { listDeliveries, listHistory, markAllRead, markRead } from "./history.service";

export const historyHandler: RouteHandler<typeof historyRoute, AppEnv> = async (c) =>
  c.json(await listHistory(c.var.deps, principalOf(c).userId, c.req.valid("query")), 200);

export const readAllHandler: RouteHandler<typeof readAllRoute, AppEnv> = async (c) =>
  c.json(await markAllRead(c.var.deps, principalOf(c).userId), 200);

export const readOneHandler: RouteHandler<typeof readOneRoute, AppEnv> = async (c) =>
  c.json(await markRead(c.var.deps, principalOf(c).userId, c.req.valid("param").id), 200);

export const deliveriesHandler: RouteHandler<typeof deliveriesRoute, AppEnv> = async (c) =>
  c.json(await listDeliveries(c.var.deps, principalOf(c), c.req.valid("param").id), 200);
