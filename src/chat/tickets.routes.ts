import { createRoute, z } from "@hono/zod-openapi";
import { TICKET_STATUSES } from "../db/schema";
import { principalOf, requireAuth, requireRole } from "../platform/auth";
import { toIso } from "../platform/ids";
import { cursorSchema, decodeCursor, limitSchema } from "../platform/pagination";
import { createRouter } from "../platform/router";
import { loadVisibleTicket } from "./access";
import { chatMessageSchema, errors, idParam, ticketSchema, toTicket } from "./schemas";
import { createTicket, listMessages, listTickets, setTicketStatus } from "./tickets.service";

const tags = ["chat"];
const security = [{ bearer: [] }];
const json = <T>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

const createTicketRoute = createRoute({
  method: "post",
  path: "/support/tickets",
  tags,
  security,
  summary: "Open a support ticket (its chat room is WS /ws/support/{id})",
  middleware: [requireAuth, requireRole("user", "merchant", "admin")] as const,
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.strictObject({
            subject: z.string().trim().min(1).max(200),
            merchant_id: z.string().min(1).max(128).optional(),
          }),
        },
      },
    },
  },
  responses: { 201: json(ticketSchema, "Created"), 400: errors[400], 401: errors[401], 403: errors[403] },
});

const listTicketsRoute = createRoute({
  method: "get",
  path: "/support/tickets",
  tags,
  security,
  summary: "List tickets: your own, or every ticket for admins",
  middleware: [requireAuth] as const,
  request: {
    query: z.object({ status: z.enum(TICKET_STATUSES).optional(), limit: limitSchema, cursor: cursorSchema }),
  },
  responses: {
    200: json(z.object({ items: z.array(ticketSchema), next_cursor: z.string().nullable() }), "A page"),
    400: errors[400],
    401: errors[401],
  },
});

const getTicketRoute = createRoute({
  method: "get",
  path: "/support/tickets/{id}",
  tags,
  security,
  summary: "One ticket (owner or admin)",
  middleware: [requireAuth] as const,
  request: { params: idParam },
  responses: { 200: json(ticketSchema, "The ticket"), 400: errors[400], 401: errors[401], 404: errors[404] },
});

const patchTicketRoute = createRoute({
  method: "patch",
  path: "/support/tickets/{id}",
  tags,
  security,
  summary: "Change a ticket's status (admin). Closing closes its sockets with code 4000.",
  middleware: [requireAuth, requireRole("admin")] as const,
  request: {
    params: idParam,
    body: {
      required: true,
      content: { "application/json": { schema: z.strictObject({ status: z.enum(TICKET_STATUSES) }) } },
    },
  },
  responses: {
    200: json(ticketSchema, "Updated (or already in that status)"),
    400: errors[400],
    401: errors[401],
    403: errors[403],
    404: errors[404],
    409: errors[409],
  },
});

const messagesRoute = createRoute({
  method: "get",
  path: "/support/tickets/{id}/messages",
  tags,
  security,
  summary: "Message history from D1, keyset-paginated by seq",
  middleware: [requireAuth] as const,
  request: {
    params: idParam,
    query: z.object({
      limit: limitSchema,
      cursor: cursorSchema,
      order: z.enum(["asc", "desc"]).default("desc").openapi({ description: "desc: newest first" }),
    }),
  },
  responses: {
    200: json(z.object({ items: z.array(chatMessageSchema), next_cursor: z.string().nullable() }), "A page"),
    400: errors[400],
    401: errors[401],
    404: errors[404],
  },
});

export const ticketsRouter = createRouter()
  .openapi(createTicketRoute, async (c) => {
    const row = await createTicket(c.var.deps, principalOf(c), c.req.valid("json"));
    return c.json(toTicket(row), 201);
  })
  .openapi(listTicketsRoute, async (c) => {
    const q = c.req.valid("query");
    const page = await listTickets(c.var.db, principalOf(c), {
      status: q.status,
      limit: q.limit,
      cursor: decodeCursor(q.cursor),
    });
    return c.json({ items: page.items.map(toTicket), next_cursor: page.next_cursor }, 200);
  })
  .openapi(getTicketRoute, async (c) => {
    const row = await loadVisibleTicket(c.var.db, principalOf(c), c.req.valid("param").id);
    return c.json(toTicket(row), 200);
  })
  .openapi(patchTicketRoute, async (c) => {
    const { id } = c.req.valid("param");
    const row = await setTicketStatus(c.var.deps, principalOf(c), id, c.req.valid("json").status);
    return c.json(toTicket(row), 200);
  })
  .openapi(messagesRoute, async (c) => {
    const q = c.req.valid("query");
    const page = await listMessages(c.var.db, principalOf(c), c.req.valid("param").id, {
      limit: q.limit,
      cursor: decodeCursor(q.cursor),
      order: q.order,
    });
    const items = page.items.map((m) => ({
      id: m.id,
      ticket_id: m.ticketId,
      seq: m.seq,
      sender_id: m.senderId,
      sender_role: m.senderRole,
      body: m.body,
      attachments: m.attachments ?? [],
      client_id: m.clientId,
      read_at: toIso(m.readAt),
      created_at: toIso(m.createdAt) ?? "",
    }));
    return c.json({ items, next_cursor: page.next_cursor }, 200);
  });
