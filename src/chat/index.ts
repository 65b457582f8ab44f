import { Hono } from "hono";
import { createRouter } from "../platform/router";
import type { AppEnv } from "../platform/types";

// Routes land with the chat capability.
export const chatRouter = createRouter();
/** WebSocket upgrades (not part of the OpenAPI document). */
export const wsRouter = new Hono<AppEnv>();
export { LiveChannel } from "./live-channel";
export { TicketRoom } from "./ticket-room";
