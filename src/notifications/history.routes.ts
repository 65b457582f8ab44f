import { createRoute, z } from "@hono/zod-openapi";
import { principalOf, requireAuth } from "../platform/auth";
import { createRouter } from "../platform/router";
import { listDeliveries, listHistory, markAllRead, markRead } from "./history.service";
import {
  deliveriesOut,
  errors,
  historyOut,
  historyQuery,
  idParam,
  json,
  notificationOut,
  security,
} from "./schemas";

const tags = ["notifications"];

const history = createRoute({
  method: "get",
  path: "/notifications/history",
  tags,
  security,
  summary: "In-app notifications, newest first, with the unread count",
  middleware: [requireAuth] as const,
  request: { query: historyQuery },
  responses: { 200: json(historyOut, "A page"), 400: errors[400], 401: errors[401], 500: errors[500] },
});

const readAll = createRoute({
  method: "put",
  path: "/notifications/read-all",
  tags,
  security,
  summary: "Mark every notification of the caller read",
  middleware: [requireAuth] as const,
  responses: {
    200: json(z.object({ updated: z.number().int(), unread_count: z.number().int() }), "Marked"),
    401: errors[401],
    500: errors[500],
  },
});

const readOne = createRoute({
  method: "put",
  path: "/notifications/{id}/read",
  tags,
  security,
  summary: "Mark one notification read (someone else's id is a 404)",
  middleware: [requireAuth] as const,
  request: { params: idParam },
  responses: {
    200: json(notificationOut, "The notification, read"),
    400: errors[400],
    401: errors[401],
    404: errors[404],
    500: errors[500],
  },
});

const deliveries = createRoute({
  method: "get",
  path: "/notifications/{id}/deliveries",
  tags,
  security,
  summary: "Per-device delivery state (owner or admin)",
  middleware: [requireAuth] as const,
  request: { params: idParam },
  responses: {
    200: json(deliveriesOut, "Deliveries"),
    400: errors[400],
    401: errors[401],
    404: errors[404],
    500: errors[500],
  },
});

export const historyRouter = createRouter()
  .openapi(history, async (c) =>
    c.json(await listHistory(c.var.db, principalOf(c).userId, c.req.valid("query")), 200),
  )
  .openapi(readAll, async (c) => c.json(await markAllRead(c.var.db, principalOf(c).userId), 200))
  .openapi(readOne, async (c) =>
    c.json(await markRead(c.var.db, principalOf(c).userId, c.req.valid("param").id), 200),
  )
  .openapi(deliveries, async (c) =>
    c.json(await listDeliveries(c.var.db, principalOf(c), c.req.valid("param").id), 200),
  );
