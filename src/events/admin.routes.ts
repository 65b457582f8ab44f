import { createRoute } from "@hono/zod-openapi";
import { requireRole } from "../platform/auth";
import { errorResponses, json, jsonBody, security } from "../platform/openapi";
import { deadDeliveriesOut, deadDeliveriesQuery, sinkRedriveIn, sinkRedriveOut } from "./schemas";

export const deadDeliveriesRoute = createRoute({
  method: "get",
  path: "/events/admin/deliveries",
  operationId: "listSinkDeliveries",
  tags: ["events"],
  security,
  summary: "Admin: unsettled domain-event sink deliveries, and the dead ones",
  description:
    "Counts of `pending` and `dead` deliveries per sink, and the dead deliveries themselves (a sink that failed 20 attempts, about 13 hours). Re-drive them with POST /events/admin/redrive.",
  middleware: [requireRole("admin")] as const,
  request: { query: deadDeliveriesQuery },
  responses: {
    200: json(deadDeliveriesOut, "Counts and dead deliveries"),
    ...errorResponses("UNAUTHENTICATED", "FORBIDDEN"),
  },
});

export const sinkRedriveRoute = createRoute({
  method: "post",
  path: "/events/admin/redrive",
  operationId: "redriveSinkDeliveries",
  tags: ["events"],
  security,
  summary: "Admin: retry dead domain-event sink deliveries",
  description:
    "Moves matching `dead` deliveries back to `pending` with a fresh attempt budget; the 5-minute cron runs them. At most `limit` per call (`more`: call again). Idempotent: a repeated or concurrent call re-drives nothing twice. Deliveries whose event row is gone (past its retention) are not re-driven.",
  middleware: [requireRole("admin")] as const,
  request: { body: jsonBody(sinkRedriveIn) },
  responses: {
    202: json(sinkRedriveOut, "Accepted: deliveries pending again"),
    ...errorResponses("UNAUTHENTICATED", "FORBIDDEN"),
  },
});
