import { createRoute } from "@hono/zod-openapi";
import { requireAuth } from "../platform/auth";
import { errorResponses, json, security } from "../platform/openapi";
import { deliveriesOut, historyOut, historyQuery, idParam, notificationOut, readAllOut } from "./schemas";

const tags = ["notifications"];

export const historyRoute = createRoute({
  method: "get",
  path: "/notifications/history",
  operationId: "listNotifications",
  tags,
  security,
  summary: "In-app notifications, newest first, with the unread count",
  middleware: [requireAuth] as const,
  request: { query: historyQuery },
  responses: { 200: json(historyOut, "A page"), ...errorResponses("UNAUTHENTICATED") },
});

export const readAllRoute = createRoute({
  method: "put",
  path: "/notifications/read-all",
  operationId: "markAllNotificationsRead",
  tags,
  security,
  summary: "Mark every notification of the caller read",
  middleware: [requireAuth] as const,
  responses: { 200: json(readAllOut, "Marked"), ...errorResponses("UNAUTHENTICATED") },
});

export const readOneRoute = createRoute({
  method: "put",
  path: "/notifications/{id}/read",
  operationId: "markNotificationRead",
  tags,
  security,
  summary: "Mark one notification read (someone else's id is a 404)",
  middleware: [requireAuth] as const,
  request: { params: idParam },
  responses: {
    200: json(notificationOut, "The notification, read"),
    ...errorResponses("UNAUTHENTICATED", "NOT_FOUND"),
  },
});

export const deliveriesRoute = createRoute({
  method: "get",
  path: "/notifications/{id}/deliveries",
  operationId: "listNotificationDeliveries",
  tags,
  security,
  summary: "Per-device delivery state (owner or admin)",
  middleware: [requireAuth] as const,
  request: { params: idParam },
  responses: { 200: json(deliveriesOut, "Deliveries"), ...errorResponses("UNAUTHENTICATED", "NOT_FOUND") },
});
