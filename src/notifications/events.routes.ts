import { createRoute } from "@hono/zod-openapi";
import { requireRole } from "../platform/auth";
import { errorResponses, json, jsonBody, security } from "../platform/openapi";
import { eventIn, eventOut } from "./schemas";

export const ingestEventRoute = createRoute({
  method: "post",
  path: "/events",
  operationId: "publishEvent",
  tags: ["events"],
  security,
  summary: "Publish a domain event from another platform service (service role)",
  description:
    "Accepts campaign.status_changed, feature_flag.enabled, merchant_application.approved and security.alert " +
    "(only from services listed in SECURITY_ALERT_SERVICES; others get 403). The event is stored as " +
    "`ext:<service>:<id>` (returned as event_id), so a service cannot claim an internal event's id. " +
    "Idempotent by id per service: a replay answers 200 with duplicate: true and has no second effect.",
  middleware: [requireRole("service")] as const,
  request: { body: jsonBody(eventIn) },
  responses: {
    200: json(eventOut, "Already received (replay): no effect"),
    202: json(eventOut, "Accepted and fanned out"),
    ...errorResponses("UNAUTHENTICATED", "FORBIDDEN"),
  },
});
