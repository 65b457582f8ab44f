import { createRoute } from "@hono/zod-openapi";
import { requireAuth, requireRole } from "../platform/auth";
import { errorResponses, json, jsonBody, security } from "../platform/openapi";
import { rateLimit } from "../platform/rate-limit";
import {
  createTicketBody,
  idParam,
  listTicketsQuery,
  messagePageSchema,
  messagesQuery,
  patchTicketBody,
  ticketPageSchema,
  ticketSchema,
} from "./schemas";

const tags = ["chat"];

/** Per user: each new ticket reaches the merchant's feed and up to MAX_ADMIN_CHANNELS admin feeds. */
const ticketRateLimit = rateLimit({ binding: (e) => e.TICKET_RATE_LIMITER, prefix: "ticket" });

// BAD_REQUEST on the routes with a body: a body that is not JSON at all fails before validation.
export const createTicketRoute = createRoute({
  method: "post",
  path: "/support/tickets",
  operationId: "createTicket",
  tags,
  security,
  summary: "Open a support ticket (its chat room is WS /ws/support/{id})",
  middleware: [requireAuth, requireRole("user", "merchant", "admin"), ticketRateLimit] as const,
  request: { body: jsonBody(createTicketBody) },
  responses: {
    201: json(ticketSchema, "Created"),
    // FORBIDDEN also: a merchant_id the caller has no relation to; UNPROCESSABLE: an unknown one.
    ...errorResponses("BAD_REQUEST", "UNAUTHENTICATED", "FORBIDDEN", "UNPROCESSABLE", "RATE_LIMITED"),
  },
});

export const listTicketsRoute = createRoute({
  method: "get",
  path: "/support/tickets",
  operationId: "listTickets",
  tags,
  security,
  summary: "List tickets: your own, or every ticket for admins",
  middleware: [requireAuth] as const,
  request: { query: listTicketsQuery },
  responses: { 200: json(ticketPageSchema, "A page"), ...errorResponses("UNAUTHENTICATED") },
});

export const getTicketRoute = createRoute({
  method: "get",
  path: "/support/tickets/{id}",
  operationId: "getTicket",
  tags,
  security,
  summary: "One ticket (owner or admin)",
  middleware: [requireAuth] as const,
  request: { params: idParam },
  responses: { 200: json(ticketSchema, "The ticket"), ...errorResponses("UNAUTHENTICATED", "NOT_FOUND") },
});

export const patchTicketRoute = createRoute({
  method: "patch",
  path: "/support/tickets/{id}",
  operationId: "updateTicket",
  tags,
  security,
  summary: "Change a ticket's status (admin). Closing closes its sockets with code 4000.",
  middleware: [requireAuth, requireRole("admin")] as const,
  request: { params: idParam, body: jsonBody(patchTicketBody) },
  responses: {
    200: json(ticketSchema, "Updated (or already in that status)"),
    ...errorResponses("BAD_REQUEST", "UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "CONFLICT"),
  },
});

export const messagesRoute = createRoute({
  method: "get",
  path: "/support/tickets/{id}/messages",
  operationId: "listTicketMessages",
  tags,
  security,
  summary: "Message history from D1, keyset-paginated by seq",
  middleware: [requireAuth] as const,
  request: { params: idParam, query: messagesQuery },
  responses: { 200: json(messagePageSchema, "A page"), ...errorResponses("UNAUTHENTICATED", "NOT_FOUND") },
});

export const deleteTicketRoute = createRoute({
  method: "delete",
  path: "/support/tickets/{id}",
  operationId: "deleteTicket",
  tags,
  security,
  summary:
    "Erase a ticket (admin): its room, its history and its attachments (files are deleted from storage by the cron)",
  middleware: [requireAuth, requireRole("admin")] as const,
  request: { params: idParam },
  responses: {
    204: { description: "Erased" },
    ...errorResponses("UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "UPSTREAM_UNAVAILABLE"),
  },
});
