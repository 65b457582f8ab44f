import { createRoute } from "@hono/zod-openapi";
import { requireRole } from "../platform/auth";
import { errorResponses, json, security } from "../platform/openapi";
import {
  behaviorQuerySchema,
  conversionFunnelReportSchema,
  funnelQuerySchema,
  retentionQuerySchema,
  retentionReportSchema,
  revenueBySourceQuerySchema,
  revenueBySourceReportSchema,
  revenueQuerySchema,
  revenueReportSchema,
  userBehaviorReportSchema,
} from "./schemas";

const tags = ["analytics"];
const middleware = [requireRole("admin")];
// requireRole: anonymous is a 401, another role a 403. A bad range is VALIDATION_FAILED.
const reportErrors = errorResponses("UNAUTHENTICATED", "FORBIDDEN");

export const behaviorRoute = createRoute({
  method: "get",
  path: "/analytics/user-behavior",
  operationId: "getUserBehaviorReport",
  tags,
  summary: "Sessions, top pages, click and activity heatmaps, feature usage",
  security,
  middleware,
  request: { query: behaviorQuerySchema },
  responses: { 200: json(userBehaviorReportSchema, "Report"), ...reportErrors },
});

export const funnelRoute = createRoute({
  method: "get",
  path: "/analytics/conversion-funnel",
  operationId: "getConversionFunnelReport",
  tags,
  summary: "Ordered conversion funnel within a window, per user (or session when anonymous)",
  security,
  middleware,
  request: { query: funnelQuerySchema },
  responses: { 200: json(conversionFunnelReportSchema, "Report"), ...reportErrors },
});

export const revenueRoute = createRoute({
  method: "get",
  path: "/analytics/revenue",
  operationId: "getRevenueReport",
  tags,
  summary: "Gross, refunds and net per period; by source and campaign; MRR, ARR and movements",
  security,
  middleware,
  request: { query: revenueQuerySchema },
  responses: { 200: json(revenueReportSchema, "Report"), ...reportErrors },
});

export const retentionRoute = createRoute({
  method: "get",
  path: "/analytics/retention",
  operationId: "getRetentionReport",
  tags,
  summary: "Cohort retention matrix by first-seen week or month; subscription churn",
  security,
  middleware,
  request: { query: retentionQuerySchema },
  responses: { 200: json(retentionReportSchema, "Report"), ...reportErrors },
});

export const revenueBySourceRoute = createRoute({
  method: "get",
  path: "/analytics/revenue/by-source",
  operationId: "getRevenueBySourceReport",
  tags,
  summary: "Captured revenue by UTM source and campaign, first-touch or last-touch",
  security,
  middleware,
  request: { query: revenueBySourceQuerySchema },
  responses: { 200: json(revenueBySourceReportSchema, "Report"), ...reportErrors },
});
