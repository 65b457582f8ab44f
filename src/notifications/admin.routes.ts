import { createRoute } from "@hono/zod-openapi";
import { requireRole } from "../platform/auth";
import { errorResponses, json, jsonBody, security } from "../platform/openapi";
import { notifyResultOut, redriveIn, redriveOut, testSendIn } from "./schemas";

export const testSendRoute = createRoute({
  method: "post",
  path: "/notifications/test",
  operationId: "sendTestNotification",
  tags: ["notifications"],
  security,
  summary: "Admin: send a test notification (optionally silent) to a user",
  description: "Goes through the whole pipeline, user preferences and quiet hours included.",
  middleware: [requireRole("admin")] as const,
  request: { body: jsonBody(testSendIn) },
  responses: {
    202: json(notifyResultOut, "Accepted: notification written, pushes queued or held"),
    ...errorResponses("UNAUTHENTICATED", "FORBIDDEN"),
  },
});

export const redriveRoute = createRoute({
  method: "post",
  path: "/notifications/admin/redrive",
  operationId: "redrivePushDeliveries",
  tags: ["notifications"],
  security,
  summary: "Admin: queue dead-lettered (and THIRD_PARTY_AUTH_ERROR-failed) pushes again",
  description:
    "Moves matching deliveries back to `queued` and enqueues them, at most `limit` per call (`more`: call again). Idempotent: a repeated or concurrent call re-drives nothing twice. Deliveries whose device was deleted, or whose token was removed or moved to another user, are never re-driven.",
  middleware: [requireRole("admin")] as const,
  request: { body: jsonBody(redriveIn) },
  responses: {
    202: json(redriveOut, "Accepted: deliveries queued again"),
    ...errorResponses("UNAUTHENTICATED", "FORBIDDEN"),
  },
});
