import { type Context, Hono } from "hono";
import { verifyToken } from "../platform/auth";
import { rememberUser } from "../platform/directory";
import { ApiError } from "../platform/errors";
import type { AppEnv, Principal } from "../platform/types";
import { assertSocketAccess, parseSocketPath } from "./access";
import { INTERNAL, INTERNAL_PREFIX } from "./protocol";
import { consumeConnectTicket } from "./realtime.service";

type Credentials = { principal: Principal; subprotocol: string | null };

/**
 * The three ways a socket authenticates, in order: an Authorization header (already verified
 * by `authenticate`), `Sec-WebSocket-Protocol: bearer, <jwt>` (browsers), or a single-use
 * `?ticket=`. A JWT in the URL is never accepted: URLs end up in logs and histories.
 */
async function credentials(c: Context<AppEnv>): Promise<Credentials> {
  if (c.var.principal) return { principal: c.var.principal, subprotocol: null };
  const offered = (c.req.header("sec-websocket-protocol") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (offered[0] === "bearer") {
    const token = offered[1];
    if (!token) throw new ApiError("UNAUTHENTICATED", "Subprotocol 'bearer' must be followed by a token");
    const principal = await verifyToken(token, c.var.config);
    await rememberUser(c.var.db, principal);
    return { principal, subprotocol: "bearer" };
  }
  const ticket = c.req.query("ticket");
  if (ticket) {
    const principal = await consumeConnectTicket(c.var.db, ticket, new URL(c.req.url).pathname);
    return { principal, subprotocol: null };
  }
  throw new ApiError("UNAUTHENTICATED", "Authenticate with a bearer subprotocol, a ?ticket= or a header", {
    headers: { "WWW-Authenticate": 'Bearer realm="ws"' },
  });
}

function sinceParam(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  if (!/^\d{1,15}$/.test(raw)) {
    throw new ApiError("VALIDATION_FAILED", "since must be a non-negative integer", {
      details: [{ path: "since", message: "expected a seq number" }],
    });
  }
  return raw;
}

/** WebSocket upgrades. Refusals happen here, before the upgrade, with the JSON envelope. */
export const wsRouter = new Hono<AppEnv>();

wsRouter.get("/:kind{support|merchant|admin}/:id", async (c) => {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("UPGRADE_REQUIRED", "This endpoint only speaks WebSocket", {
      headers: { Upgrade: "websocket" },
    });
  }
  const target = parseSocketPath(new URL(c.req.url).pathname);
  if (!target) throw new ApiError("NOT_FOUND", "No such socket");
  const since = sinceParam(c.req.query("since"));
  const { principal, subprotocol } = await credentials(c);
  const ticket = await assertSocketAccess(c.var.db, principal, target);

  // Copy the request, then drop anything a client might have sent to impersonate the Worker,
  // and the credentials themselves: the object trusts only what is set below.
  const headers = new Headers(c.req.raw.headers);
  for (const name of [...headers.keys()]) {
    if (name.startsWith(INTERNAL_PREFIX)) headers.delete(name);
  }
  headers.delete("authorization");
  headers.delete("sec-websocket-protocol");
  headers.set(INTERNAL.userId, principal.userId);
  headers.set(INTERNAL.role, principal.role);
  if (principal.merchantId) headers.set(INTERNAL.merchantId, principal.merchantId);

  const url = new URL("https://do.internal/connect");
  if (since !== null) url.searchParams.set("since", since);
  let res: Response;
  if (ticket) {
    headers.set(INTERNAL.ticketId, ticket.id);
    headers.set(INTERNAL.ticketOwner, ticket.userId);
    if (ticket.merchantId) headers.set(INTERNAL.ticketMerchant, ticket.merchantId);
    res = await c.env.TICKET_ROOM.getByName(ticket.id).fetch(new Request(url, { headers }));
  } else {
    const channel = `${target.kind}:${target.id}`;
    headers.set(INTERNAL.channel, channel);
    res = await c.env.LIVE_CHANNEL.getByName(channel).fetch(new Request(url, { headers }));
  }
  if (res.status !== 101 || !res.webSocket) return res;
  // A browser that offered subprotocols drops the connection unless one is echoed.
  return new Response(null, {
    status: 101,
    webSocket: res.webSocket,
    headers: subprotocol ? { "Sec-WebSocket-Protocol": subprotocol } : {},
  });
});
