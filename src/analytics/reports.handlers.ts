import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../platform/app-env";
import type {
  behaviorRoute,
  funnelRoute,
  retentionRoute,
  revenueBySourceRoute,
  revenueRoute,
} from "./reports.routes";
import {
  behaviorReport,
  funnelReport,
  retentionReport,
  revenueBySourceReport,
  revenueReport,
} from "./reports.service";

export const behaviorHandler: RouteHandler<typeof behaviorRoute, AppEnv> = async (c) => {
  return c.json(await behaviorReport(c.var.deps, c.req.valid("query")), 200);
};

export const funnelHandler: RouteHandler<typeof funnelRoute, AppEnv> = async (c) => {
  return c.json(await funnelReport(c.var.deps, c.req.valid("query")), 200);
};

export const revenueHandler: RouteHandler<typeof revenueRoute, AppEnv> = async (c) => {
  return c.json(await revenueReport(c.var.deps, c.req.valid("query")), 200);
};

export const retentionHandler: RouteHandler<typeof retentionRoute, AppEnv> = async (c) => {
  return c.json(await retentionReport(c.var.deps, c.req.valid("query")), 200);
};

export const revenueBySourceHandler: RouteHandler<typeof revenueBySourceRoute, AppEnv> = async (c) => {
  return c.json(await revenueBySourceReport(c.var.deps, c.req.valid("query")), 200);
};
