import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../platform/app-env";
import { principalOf } from "../platform/auth";
import { decodeCursor } from "../platform/pagination";
import { toChatMessage, toTicket } from "./schemas";
import type {
  createTicketRoute,
  deleteTicketRoute,
  getTicketRoute,
  listTicketsRoute,
  messagesRoute,
  patchTicketRoute,
} from "./tickets.routes";
import {
  createTicket,
  eraseTicket,
  getTicket,
  listMessages,
  listTickets,
  setTicketStatus,
} from "./tickets.service";

export const createTicketHandler: RouteHandler<typeof createTicketRoute, AppEnv> = async (c) => {
  const row = await createTicket(c.var.deps, principalOf(c), c.req.valid("json"));
  return c.json(toTicket(row), 201);
};

export const listTicketsHandler: RouteHandler<typeof listTicketsRoute, AppEnv> = async (c) => {
  const q = c.req.valid("query");
  const page = await listTickets(c.var.deps, principalOf(c), {
    status: q.status,
    limit: q.limit,
    cursor: decodeCursor(q.cursor),
  });
  return c.json({ items: page.items.map(toTicket), next_cursor: page.next_cursor }, 200);
};

export const getTicketHandler: RouteHandler<typeof getTicketRoute, AppEnv> = async (c) => {
  const row = await getTicket(c.var.deps, principalOf(c), c.req.valid("param").id);
  return c.json(toTicket(row), 200);
};

export const patchTicketHandler: RouteHandler<typeof patchTicketRoute, AppEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const row = await setTicketStatus(c.var.deps, principalOf(c), id, c.req.valid("json").status);
  return c.json(toTicket(row), 200);
};

export const messagesHandler: RouteHandler<typeof messagesRoute, AppEnv> = async (c) => {
  const q = c.req.valid("query");
  const page = await listMessages(c.var.deps, principalOf(c), c.req.valid("param").id, {
    limit: q.limit,
    cursor: decodeCursor(q.cursor),
    order: q.order,
  });
  return c.json({ items: page.items.map(toChatMessage), next_cursor: page.next_cursor }, 200);
};

export const deleteTicketHandler: RouteHandler<typeof deleteTicketRoute, AppEnv> = async (c) => {
  await eraseTicket(c.var.deps, principalOf(c), c.req.valid("param").id);
  return c.body(null, 204);
};
