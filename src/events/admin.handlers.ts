import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../platform/app-env";
import type { deadDeliveriesRoute, sinkRedriveRoute } from "./admin.routes";
import { listDeadDeliveries, redriveSinkDeliveries } from "./admin.service";

export const deadDeliveriesHandler: RouteHandler<typeof deadDeliveriesRoute, AppEnv> = async (c) =>
  c.json(await listDeadDeliveries(c.var.deps, c.req.valid("query")), 200);

export const sinkRedriveHandler: RouteHandler<typeof sinkRedriveRoute, AppEnv> = async (c) =>
  c.json(await redriveSinkDeliveries(c.var.deps, c.req.valid("json")), 202);
