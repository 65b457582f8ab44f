import type { Context } from "hono";
import type { AppEnv } from "../platform/app-env";
import { verifyToken } from "../platform/auth";
import { rememberUser } from "../platform/directory";
import { ApiError } from "../platform/errors";
import { enforceLimit } from "../platform/limits";
import type { Principal } from "../platform/types";
import { parseSocketPath } from "./access";
import { consumeConnectTicket } from "./realtime.service";
import { openSocket } from "./ws.service";

type Credentials = { principal: Principal; subprotocol: string | null; via: "token" | "ticket" };

/**
 * The three ways a socket authenticates, in order: an Authorization header (already verified
 * by `authenticate`), `Sec-WebSocket-Protocol: bearer, <jwt>` (browsers), or a single-use
 * `?ticket=`. A JWT in the URL is never accepted: URLs end up in logs and histories.
 */
async function credentials(c: Context<AppEnv>, path: string): Promise<Credentials> {
  if (c.var.principal) return { principal: c.var.principal, subprotocol: null, via: "token" };
  const offered = (c.req.header("sec-websocket-protocol") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (offered[0] === "bearer") {
    const token = offered[1];
    if (!token) throw new ApiError("UNAUTHENTICATED", "Subprotocol 'bearer' must be followed by a token");
    const principal = await verifyToken(token, c.var.deps.config);
    await rememberUser(() => c.var.deps.db, principal);
    return { principal, subprotocol: "bearer", via: "token" };
  }
  const ticket = c.req.query("ticket");
  if (ticket) {
    const principal = await consumeConnectTicket(c.var.deps, ticket, path);
    return { principal, subprotocol: null, via: "ticket" };
  }
  throw new ApiError("UNAUTHENTICATED", "Authenticate with a bearer subprotocol, a ?ticket= or a header");
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

/** GET /ws/{kind}/{id}. Refusals happen here, before the upgrade, with the JSON envelope. */
export async function upgradeHandler(c: Context<AppEnv>): Promise<Response> {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("UPGRADE_REQUIRED", "This endpoint only speaks WebSocket", {
      headers: { Upgrade: "websocket" },
    });
  }
  const path = new URL(c.req.url).pathname;
  const target = parseSocketPath(path);
  if (!target) throw new ApiError("NOT_FOUND", "No such socket");
  const since = sinceParam(c.req.query("since"));
  const { principal, subprotocol, via } = await credentials(c, path);
  // Token-bearing upgrades count per user against AUTH_RATE_LIMITER (as connect tickets do when
  // issued), before the access check and before any Durable Object is reached. A ticket upgrade
  // is not counted again: its issuing was, and a ticket opens one socket at most.
  if (via === "token") await enforceLimit(c.env.AUTH_RATE_LIMITER, `ws:${principal.userId}`);
  const res = await openSocket(c.var.deps, principal, target, since, c.req.raw.headers);
  if (res.status !== 101 || !res.webSocket) return res;
  // A browser that offered subprotocols drops the connection unless one is echoed.
  return new Response(null, {
    status: 101,
    webSocket: res.webSocket,
    headers: subprotocol ? { "Sec-WebSocket-Protocol": subprotocol } : {},
  });
}
