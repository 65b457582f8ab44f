import { createRoute } from "@hono/zod-openapi";
import { requireRole } from "../platform/auth";
import { newId } from "../platform/ids";
import { createRouter } from "../platform/router";
import { notify } from "./notify";
import { errors, json, jsonBody, notifyResultOut, security, testSendIn } from "./schemas";

const send = createRoute({
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
    400: errors[400],
    401: errors[401],
    403: errors[403],
    500: errors[500],
  },
});

export const adminRouter = createRouter().openapi(send, async (c) => {
  const input = c.req.valid("json");
  const result = await notify(
    { env: c.env, db: c.var.db, logger: c.var.logger },
    {
      userIds: [input.user_id],
      type: input.type,
      title: input.title,
      body: input.body,
      data: { ...(input.data ?? {}), test: "true" },
      silent: input.silent,
      eventId: `test:${newId()}`,
    },
  );
  return c.json(result, 202);
});
