import { describe, expect, it } from "vitest";
import { newCaller } from "../helpers/auth";
import { apiWithEnv, expectEnvelope } from "../helpers/http";
import { openTicket } from "./helpers";

// The upgrade is forwarded to the ticket's room (or the live channel's object). When the stub's
// fetch rejects (Cloudflare marks overloaded/reset objects `retryable`/`overloaded`), nothing was
// opened, so the client must hear 503 with Retry-After, like DELETE ticket, not the 500 that
// escaped to onError's catch-all before.

const overloaded = Object.assign(new Error("Durable Object is overloaded. Too many requests queued."), {
  retryable: true,
  overloaded: true,
});
const unreachable = { getByName: () => ({ fetch: () => Promise.reject(overloaded) }) };

async function upgradeWith(path: string, token: string, binding: "TICKET_ROOM" | "LIVE_CHANNEL") {
  const res = await apiWithEnv(
    path,
    { headers: { Upgrade: "websocket", authorization: `Bearer ${token}` } },
    { [binding]: unreachable },
    () => {},
  );
  expect(res.headers.get("retry-after")).toBe("5");
  await expectEnvelope(res, 503, "UPSTREAM_UNAVAILABLE");
}

describe("a chat upgrade when its Durable Object is unreachable", () => {
  it("answers 503 UPSTREAM_UNAVAILABLE with Retry-After for a ticket room", async () => {
    const owner = await newCaller("user");
    const { id } = (await openTicket(owner)) as { id: string };
    await upgradeWith(`/ws/support/${id}`, owner.token, "TICKET_ROOM");
  });

  it("answers the same for a merchant's live channel", async () => {
    const merchantId = crypto.randomUUID();
    const merchant = await newCaller("merchant", merchantId);
    await upgradeWith(`/ws/merchant/${merchantId}`, merchant.token, "LIVE_CHANNEL");
  });
});
