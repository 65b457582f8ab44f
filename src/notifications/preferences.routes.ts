import { createRoute } from "@hono/zod-openapi";
import { requireAuth } from "../platform/auth";
import { errorResponses, json, jsonBody, security } from "../platform/openapi";
import { preferencesIn, preferencesOut } from "./schemas";

const tags = ["notifications"];

export const getPreferencesRoute = createRoute({
  method: "get",
  path: "/notifications/preferences",
  operationId: "getNotificationPreferences",
  tags,
  security,
  summary: "Per-type, per-channel preferences and quiet hours",
  middleware: [requireAuth] as const,
  responses: { 200: json(preferencesOut, "Preferences"), ...errorResponses("UNAUTHENTICATED") },
});

export const updatePreferencesRoute = createRoute({
  method: "post",
  path: "/notifications/preferences",
  operationId: "updateNotificationPreferences",
  tags,
  security,
  summary: "Update preferences (partial, incl. per-type digests); security_alert cannot be muted or digested",
  middleware: [requireAuth] as const,
  request: { body: jsonBody(preferencesIn) },
  responses: {
    200: json(preferencesOut, "Preferences after the update"),
    // UNPROCESSABLE: switching a critical type off, or setting it to a digest.
    ...errorResponses("UNAUTHENTICATED", "UNPROCESSABLE"),
  },
});
