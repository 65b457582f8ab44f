import { createRoute } from "@hono/zod-openapi";
import { requireAuth } from "../platform/auth";
import { errorResponses, json, jsonBody, security } from "../platform/openapi";
import { rateLimit } from "../platform/rate-limit";
import { connectTicketBody, connectTicketSchema } from "./schemas";

export const connectTicketRoute = createRoute({
  method: "post",
  path: "/realtime/tickets",
  operationId: "createConnectTicket",
  tags: ["chat"],
  security,
  summary: "A 60-second, single-use ticket to open one socket from a browser (?ticket=)",
  description:
    "Browsers cannot send headers on a WebSocket upgrade. Access to the path is checked now and again at connect.",
  middleware: [requireAuth, rateLimit({ binding: (e) => e.AUTH_RATE_LIMITER, prefix: "rt" })] as const,
  request: { body: jsonBody(connectTicketBody) },
  responses: {
    201: json(connectTicketSchema, "Issued"),
    // FORBIDDEN, NOT_FOUND and CONFLICT come from the socket access check (access.ts).
    ...errorResponses("BAD_REQUEST", "UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "CONFLICT", "RATE_LIMITED"),
  },
});
