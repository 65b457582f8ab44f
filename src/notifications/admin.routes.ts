import { createRoute } from "@hono/zod-openapi";
import { requireRole } from "../platform/auth";
import { errorResponses, json, jsonBody, security } from "../platform/openapi";
import { notifyResultOut, testSendIn } from "./schemas";

export const testSendRoute = createRoute({
  method: "post",
  path: "/notifications/test",
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
