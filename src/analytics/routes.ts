import { createRoute, z } from "@hono/zod-openapi";
import { requireRole } from "../platform/auth";
import { errorResponse } from "../platform/openapi";
import { ingestBodySchema, ingestResultSchema } from "./event-schema";
import { stepsParam } from "./reports/funnel";
import { rangeQuery, tzParam, windowParam } from "./reports/range";

const err = errorResponse;
const adminErrors = {
  400: err("Invalid parameters or range"),
  401: err("Missing or invalid token"),
  403: err("Not an admin"),
};
const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
// Report bodies are documented in docs/analytics.md; the schema names the top-level shape.
const report = (name: string) => z.record(z.string(), z.unknown()).openapi(name);
const admin = [requireRole("admin")];
const security = [{ bearer: [] }];
const optionalBearer: Array<Record<string, string[]>> = [{ bearer: [] }, {}];

export const ingestRoute = createRoute({
  method: "post",
  path: "/analytics/events",
  tags: ["analytics"],
  summary: "Track a batch of client events (anonymous allowed with session_id)",
  // `{}` makes the token optional: anonymous visitors are tracked by session_id.
  security: optionalBearer,
  request: { body: { content: { "application/json": { schema: ingestBodySchema } } } },
  responses: {
    202: json(ingestResultSchema, "Accepted; per-event rejections are itemised"),
    400: err("Body is not a batch of 1–100 items"),
    401: err("A token was sent and is invalid"),
    413: err("Body too large"),
  },
});

export const behaviorRoute = createRoute({
  method: "get",
  path: "/analytics/user-behavior",
  tags: ["analytics"],
  summary: "Sessions, top pages, click and activity heatmaps, feature usage",
  security,
  middleware: admin,
  request: { query: z.object({ ...rangeQuery, tz: tzParam }) },
  responses: { 200: json(report("UserBehaviorReport"), "Report"), ...adminErrors },
});

export const funnelRoute = createRoute({
  method: "get",
  path: "/analytics/conversion-funnel",
  tags: ["analytics"],
  summary: "Ordered conversion funnel within a window, per user (or session when anonymous)",
  security,
  middleware: admin,
  request: { query: z.object({ ...rangeQuery, steps: stepsParam, window: windowParam }) },
  responses: { 200: json(report("ConversionFunnelReport"), "Report"), ...adminErrors },
});

export const revenueRoute = createRoute({
  method: "get",
  path: "/analytics/revenue",
  tags: ["analytics"],
  summary: "Gross, refunds and net per period; by source and campaign; MRR, ARR and movements",
  security,
  middleware: admin,
  request: { query: z.object({ ...rangeQuery, interval: z.enum(["day", "week", "month"]).default("day") }) },
  responses: { 200: json(report("RevenueReport"), "Report"), ...adminErrors },
});

export const retentionRoute = createRoute({
  method: "get",
  path: "/analytics/retention",
  tags: ["analytics"],
  summary: "Cohort retention matrix by first-seen week or month; subscription churn",
  security,
  middleware: admin,
  request: {
    query: z.object({
      ...rangeQuery,
      cohort: z.enum(["week", "month"]).default("week"),
      periods: z.coerce.number().int().min(1).max(24).default(8),
    }),
  },
  responses: { 200: json(report("RetentionReport"), "Report"), ...adminErrors },
});

export const eraseRoute = createRoute({
  method: "delete",
  path: "/analytics/users/{id}",
  tags: ["analytics"],
  summary: "Erase one user's analytics events",
  security,
  middleware: admin,
  request: { params: z.object({ id: z.string().min(1).max(128) }) },
  responses: {
    200: json(
      z.object({ user_id: z.string(), deleted: z.number().int() }).openapi("AnalyticsErasure"),
      "Erased",
    ),
    ...adminErrors,
  },
});
