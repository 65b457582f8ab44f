import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../platform/app-env";
import type { redriveRoute, testSendRoute } from "./admin.routes";
import { sendTestNotification } from "./admin.service";
import { redriveDeliveries } from "./redrive.service";

export const testSendHandler: RouteHandler<typeof testSendRoute, AppEnv> = async (c) =>
  c.json(await sendTestNotification(c.var.deps, c.req.valid("json")), 202);

export const redriveHandler: RouteHandler<typeof redriveRoute, AppEnv> = async (c) =>
  c.json(await redriveDeliveries(c.var.deps, c.req.valid("json")), 202);
