import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../platform/app-env";
import { principalOf } from "../platform/auth";
import { toIso } from "../platform/ids";
import type { connectTicketRoute } from "./realtime.routes";
import { issueConnectTicket } from "./realtime.service";

export const connectTicketHandler: RouteHandler<typeof connectTicketRoute, AppEnv> = async (c) => {
  const issued = await issueConnectTicket(c.var.deps, principalOf(c), c.req.valid("json").path);
  // The socket lives on this same host, so the ready-to-open URL is built from the request's.
  const url = new URL(c.req.url);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.pathname = issued.path;
  url.search = new URLSearchParams({ ticket: issued.ticket }).toString();
  return c.json(
    { ticket: issued.ticket, expires_at: toIso(issued.expires_at) ?? "", url: url.toString() },
    201,
  );
};
