import { createRoute } from "@hono/zod-openapi";
import { principalOf, requireAuth } from "../platform/auth";
import { createRouter } from "../platform/router";
import { getPreferences, updatePreferences } from "./preferences.service";
import { errors, json, jsonBody, preferencesIn, preferencesOut, security } from "./schemas";

const tags = ["notifications"];

const read = createRoute({
  method: "get",
  path: "/notifications/preferences",
  tags,
  security,
  summary: "Per-type, per-channel preferences and quiet hours",
  middleware: [requireAuth] as const,
  responses: { 200: json(preferencesOut, "Preferences"), 401: errors[401], 500: errors[500] },
});

const update = createRoute({
  method: "post",
  path: "/notifications/preferences",
  tags,
  security,
  summary: "Update preferences (partial); security_alert cannot be muted",
  middleware: [requireAuth] as const,
  request: { body: jsonBody(preferencesIn) },
  responses: {
    200: json(preferencesOut, "Preferences after the update"),
    400: errors[400],
    401: errors[401],
    422: errors[422],
    500: errors[500],
  },
});

export const preferencesRouter = createRouter()
  .openapi(read, async (c) => c.json(await getPreferences(c.var.db, principalOf(c).userId), 200))
  .openapi(update, async (c) =>
    c.json(await updatePreferences(c.var.db, principalOf(c).userId, c.req.valid("json")), 200),
  );
