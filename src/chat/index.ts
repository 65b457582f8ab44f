import { createRouter } from "../platform/router";
import { realtimeRouter } from "./realtime.routes";
import { ticketsRouter } from "./tickets.routes";

/** REST: support tickets, their history, and connect tickets (mounted at /api/v1). */
export const chatRouter = createRouter().route("/", ticketsRouter).route("/", realtimeRouter);
export { LiveChannel } from "./live-channel";
export { TicketRoom } from "./ticket-room";
/** WebSocket upgrades (not part of the OpenAPI document). */
export { wsRouter } from "./ws.handlers";
