import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../platform/app-env";
import type { testSendRoute } from "./admin.routes";
import { sendTestNotification } from "./admin.service";

export const testSendHandler: RouteHandler<typeof testSendRoute, AppEnv> = async (c) =>
  c.json(await sendTestNotification(c.var.deps, c.req.valid("json")), 202);
