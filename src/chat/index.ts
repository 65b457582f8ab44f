import { Hono } from "hono";
import type { AppEnv } from "../platform/app-env";
import { createRouter } from "../platform/router";
import * as ah from "./attachments.handlers";
import * as ar from "./attachments.routes";
import * as rh from "./realtime.handlers";
import * as rr from "./realtime.routes";
import * as th from "./tickets.handlers";
import * as tr from "./tickets.routes";
import { upgradeHandler } from "./ws.handlers";

/** REST: support tickets, their history, and connect tickets (mounted at /api/v1). */
export const chatRouter = createRouter()
  .openapi(tr.createTicketRoute, th.createTicketHandler)
  .openapi(tr.listTicketsRoute, th.listTicketsHandler)
  .openapi(tr.getTicketRoute, th.getTicketHandler)
  .openapi(tr.patchTicketRoute, th.patchTicketHandler)
  .openapi(tr.deleteTicketRoute, th.deleteTicketHandler)
  .openapi(tr.messagesRoute, th.messagesHandler)
  .openapi(ar.uploadAttachmentRoute, ah.uploadAttachmentHandler)
  .openapi(ar.downloadAttachmentRoute, ah.downloadAttachmentHandler)
  .openapi(rr.connectTicketRoute, rh.connectTicketHandler);

/**
 * WebSocket upgrades (mounted at /ws). An upgrade is not a REST operation, so it has no
 * createRoute, no ws.routes.ts and no place in the OpenAPI document (docs/chat-protocol.md is
 * its contract): the one plain Hono route is declared here, its handler is in ws.handlers.ts.
 */
export const wsRouter = new Hono<AppEnv>().get("/:kind{support|merchant|admin}/:id", upgradeHandler);

export { UPLOAD_PATH } from "./attachments.routes";
export { LiveChannel } from "./live-channel";
export { TicketRoom } from "./ticket-room";
