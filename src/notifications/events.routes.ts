import { createRoute } from "@hono/zod-openapi";
import { publish } from "../events/publish";
import { principalOf, requireRole } from "../platform/auth";
import { createRouter } from "../platform/router";
import { errors, eventIn, eventOut, json, jsonBody, security } from "./schemas";

const ingest = createRoute({
  method: "post",
  path: "/events",
  tags: ["events"],
  security,
  summary: "Publish a domain event from another platform service (service role)",
  description:
    "Accepts campaign.status_changed, feature_flag.enabled, merchant_application.approved and security.alert. " +
    "Idempotent by id: a replay answers 200 with duplicate: true and has no second effect.",
  middleware: [requireRole("service")] as const,
  request: { body: jsonBody(eventIn) },
  responses: {
    200: json(eventOut, "Already received (replay): no effect"),
    202: json(eventOut, "Accepted and fanned out"),
    400: errors[400],
    401: errors[401],
    403: errors[403],
    500: errors[500],
  },
});

export const eventsRouter = createRouter().openapi(ingest, async (c) => {
  const body = c.req.valid("json");
  const { duplicate } = await publish(c.var.deps, {
    id: body.id,
    type: body.type,
    // publish() validates data against the type's schema (400 with paths on failure).
    data: body.data as never,
    source: `service:${principalOf(c).userId}`,
    ...(body.occurred_at ? { occurred_at: Date.parse(body.occurred_at) } : {}),
  });
  return duplicate ? c.json({ id: body.id, duplicate }, 200) : c.json({ id: body.id, duplicate }, 202);
});
