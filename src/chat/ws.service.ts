import type { Deps } from "../platform/deps";
import { ApiError, OVERLOADED_RETRY_AFTER_S, UNAVAILABLE_RETRY_AFTER_S } from "../platform/errors";
import type { Principal } from "../platform/types";
import { assertSocketAccess, type SocketTarget } from "./access";
import { INTERNAL, INTERNAL_PREFIX } from "./protocol";

/**
 * Authorises an authenticated caller for one socket and forwards the upgrade to the object
 * that serves it: the ticket's TicketRoom, or the feed's LiveChannel. Answers the object's
 * response (101 with the socket, or its refusal).
 */
export async function openSocket(
  deps: Deps,
  principal: Principal,
  target: SocketTarget,
  since: string | null,
  requestHeaders: Headers,
): Promise<Response> {
  const ticket = await assertSocketAccess(deps.db, principal, target);

  // Copy the request, then drop anything a client might have sent to impersonate the Worker,
  // and the credentials themselves: the object trusts only what is set below.
  const headers = new Headers(requestHeaders);
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
  if (ticket) {
    headers.set(INTERNAL.ticketId, ticket.id);
    headers.set(INTERNAL.ticketOwner, ticket.userId);
    if (ticket.merchantId) headers.set(INTERNAL.ticketMerchant, ticket.merchantId);
    return reach(deps.env.TICKET_ROOM.getByName(ticket.id).fetch(new Request(url, { headers })));
  }
  const channel = `${target.kind}:${target.id}`;
  headers.set(INTERNAL.channel, channel);
  return reach(deps.env.LIVE_CHANNEL.getByName(channel).fetch(new Request(url, { headers })));
}

/**
 * The object could not be reached (overloaded, reset, moved, or it threw): nothing was opened,
 * so the upgrade is safe to retry, and the client hears 503 with Retry-After rather than a 500.
 * An overloaded object gets a longer wait: retrying it at once makes the overload worse
 * (Cloudflare's Durable Object error handling).
 */
async function reach(upgrade: Promise<Response>): Promise<Response> {
  try {
    return await upgrade;
  } catch (err) {
    const overloaded = (err as { overloaded?: unknown } | null)?.overloaded === true;
    const wait = overloaded ? OVERLOADED_RETRY_AFTER_S : UNAVAILABLE_RETRY_AFTER_S;
    throw new ApiError("UPSTREAM_UNAVAILABLE", "The chat room is unavailable; retry", {
      cause: err,
      headers: { "Retry-After": String(wait) },
    });
  }
}
