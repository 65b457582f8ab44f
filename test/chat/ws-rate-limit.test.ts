import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newCaller } from "../helpers/auth";
import { expectEnvelope, postJson, upgrade } from "../helpers/http";
import { bearer, openTicket, roomStub } from "./helpers";

// Issue 13 item 14: token-bearing upgrades (Authorization header or `bearer` subprotocol) are
// limited per user with AUTH_RATE_LIMITER (60 per 60 s), before the access check and so before
// any Durable Object is reached.

type Caller = Awaited<ReturnType<typeof newCaller>>;

/**
 * Upgrades to a ticket that does not exist until the limiter answers. Each attempt under the
 * limit is the access check's 404; the limited one is a 429, which shows the limit runs first.
 */
async function exhaust(headers: Record<string, string>): Promise<{ limited: Response; refused: number }> {
  const path = `/ws/support/${crypto.randomUUID()}`;
  let refused = 0;
  // The binding allows 60 per 60 s per key; a few extra tries absorb window edges.
  for (let i = 0; i < 70; i++) {
    const res = await upgrade(path, headers);
    if (res.status === 429) return { limited: res, refused };
    await expectEnvelope(res, 404, "NOT_FOUND");
    refused++;
  }
  throw new Error(`no 429 after ${refused} upgrades`);
}

async function expectLimited(res: Response) {
  expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
  await expectEnvelope(res, 429, "RATE_LIMITED");
}

const subprotocol = (c: Caller) => ({ "sec-websocket-protocol": `bearer, ${c.token}` });

describe("rate limit on token-bearing WebSocket upgrades", () => {
  it("an Authorization-header upgrade beyond the limit is a 429 with Retry-After, before the room is reached", async () => {
    const user = await newCaller("user");
    const { id } = await openTicket(user);
    const { limited, refused } = await exhaust(bearer(user));
    expect(refused).toBeGreaterThanOrEqual(1);
    await expectLimited(limited);
    // The user's own ticket is refused too, and its room never saw a socket.
    await expectLimited(await upgrade(`/ws/support/${id}`, bearer(user)));
    const sockets = await runInDurableObject(roomStub(id), (_o, state) => state.getWebSockets().length);
    expect(sockets).toBe(0);
    // Another user is unaffected: the limit is per user, not global.
    const other = await newCaller("user");
    await expectEnvelope(await upgrade(`/ws/support/${id}`, bearer(other)), 404, "NOT_FOUND");
  });

  it("a bearer-subprotocol upgrade is limited the same way", async () => {
    const user = await newCaller("user");
    const { limited } = await exhaust(subprotocol(user));
    await expectLimited(limited);
    // Header and subprotocol share the user's budget: it is one user, however the token travels.
    await expectLimited(await upgrade(`/ws/support/${crypto.randomUUID()}`, bearer(user)));
  });

  it("a connect ticket is counted when issued, not again on its upgrade", async () => {
    const user = await newCaller("user");
    const { id } = await openTicket(user);
    await exhaust(bearer(user));
    const issued = await postJson("/api/v1/realtime/tickets", { path: `/ws/support/${id}` }, user.headers);
    expect(issued.status).toBe(201);
    const { ticket } = await issued.json<{ ticket: string }>();
    const res = await upgrade(`/ws/support/${id}?ticket=${ticket}`);
    expect(res.status).toBe(101);
    res.webSocket?.accept();
    res.webSocket?.close(1000, "done");
  });
});

describe("failed authentication on WebSocket upgrades, per client IP (review of issue 13, item 9)", () => {
  const ip = () => `198.51.100.${Math.floor(Math.random() * 250) + 1}-${crypto.randomUUID().slice(0, 6)}`;

  it("bad tokens, subprotocols and tickets from one IP are 401 until the limit, then 429 with Retry-After", async () => {
    const from = { "cf-connecting-ip": ip() };
    const path = `/ws/support/${crypto.randomUUID()}`;
    const attempts = [
      { ...from, authorization: "Bearer not-a-jwt" },
      { ...from, "sec-websocket-protocol": "bearer, not-a-jwt" },
    ];
    let refused = 0;
    let limited: Response | undefined;
    // AUTH_RATE_LIMITER allows 60 per 60 s per key; a few extra tries absorb window edges.
    for (let i = 0; i < 70 && !limited; i++) {
      const bad = i % 3 === 2 ? upgrade(`${path}?ticket=forged-${i}`, from) : upgrade(path, attempts[i % 3]);
      const res = await bad;
      if (res.status === 429) limited = res;
      else {
        await expectEnvelope(res, 401, "UNAUTHENTICATED");
        refused++;
      }
    }
    expect(refused).toBeGreaterThanOrEqual(1);
    if (!limited) throw new Error(`no 429 after ${refused} failed upgrades`);
    await expectLimited(limited);
    // Another IP is unaffected, and a caller with a valid token from the limited IP is not refused.
    await expectEnvelope(
      await upgrade(path, { "cf-connecting-ip": ip(), authorization: "Bearer not-a-jwt" }),
      401,
      "UNAUTHENTICATED",
    );
    const user = await newCaller("user");
    await expectEnvelope(await upgrade(path, { ...from, ...bearer(user) }), 404, "NOT_FOUND");
  });

  it("counts an IPv6 /64 as one client: rotating addresses inside it does not reset the limit", async () => {
    const h = () => Math.floor(Math.random() * 0xfffe).toString(16);
    const net = `2001:db8:${h()}:${h()}`;
    const path = `/ws/support/${crypto.randomUUID()}`;
    let limited: Response | undefined;
    for (let i = 1; i <= 70 && !limited; i++) {
      // A new address of the same /64 for every try.
      const res = await upgrade(path, {
        "cf-connecting-ip": `${net}::${i.toString(16)}`,
        authorization: "Bearer x",
      });
      if (res.status === 429) limited = res;
      else await expectEnvelope(res, 401, "UNAUTHENTICATED");
    }
    if (!limited) throw new Error("70 failed upgrades from one /64 were never limited");
    await expectLimited(limited);
  });
});
