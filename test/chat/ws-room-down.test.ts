import { describe, expect, it } from "vitest";
import { newCaller } from "../helpers/auth";
import { apiWithEnv, expectEnvelope } from "../helpers/http";
import { openTicket } from "./helpers";

// The upgrade is forwarded to the ticket's room (or the live channel's object). When the stub's
// fetch rejects (Cloudflare marks overloaded/reset objects `retryable`/`overloaded`), nothing was
// opened, so the client must hear 503 with Retry-After, like DELETE ticket, not the 500 that
// escaped to onError's catch-all before.

// Cloudflare: an overloaded object must not be retried at once, so that 503 asks for a longer wait.
const overloaded = Object.assign(new Error("Durable Object is overloaded. Too many requests queued."), {
  retryable: false,
  overloaded: true,
});
const reset = Object.assign(new Error("Network connection lost."), { retryable: true });
const failingWith = (err: Error) => ({ getByName: () => ({ fetch: () => Promise.reject(err) }) });

async function upgradeWith(
  path: string,
  token: string,
  binding: "TICKET_ROOM" | "LIVE_CHANNEL",
  err: Error,
  retryAfter: string,
) {
  const res = await apiWithEnv(
    path,
    { headers: { Upgrade: "websocket", authorization: `Bearer ${token}` } },
    { [binding]: failingWith(err) },
    () => {},
  );
  expect(res.headers.get("retry-after")).toBe(retryAfter);
  await expectEnvelope(res, 503, "UPSTREAM_UNAVAILABLE");
}

describe("a chat upgrade when its Durable Object is unreachable", () => {
  it("answers 503 UPSTREAM_UNAVAILABLE with Retry-After for a ticket room: 5 s after a reset, 30 s when overloaded", async () => {
    const owner = await newCaller("user");
    const { id } = (await openTicket(owner)) as { id: string };
    await upgradeWith(`/ws/support/${id}`, owner.token, "TICKET_ROOM", reset, "5");
    await upgradeWith(`/ws/support/${id}`, owner.token, "TICKET_ROOM", overloaded, "30");
  });

  it("answers the same for a merchant's live channel", async () => {
    const merchantId = crypto.randomUUID();
    const merchant = await newCaller("merchant", merchantId);
    await upgradeWith(`/ws/merchant/${merchantId}`, merchant.token, "LIVE_CHANNEL", overloaded, "30");
  });
});
