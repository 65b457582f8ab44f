import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { expireConnectTickets } from "../../src/chat/housekeeping";
import { LIVE_LOG_SIZE, type LiveChannel } from "../../src/chat/live-channel";
import { publish } from "../../src/events/publish";
import { newCaller } from "../helpers/auth";
import { testDeps } from "../helpers/deps";
import { bearer, connect, openTicket, settledPayment } from "./helpers";

const deps = () => testDeps();

const paymentSucceeded = (merchantId: string, amount = 1000) =>
  publish(deps(), {
    id: `evt_${crypto.randomUUID()}`,
    type: "payment.succeeded",
    source: "test",
    data: {
      payment_id: crypto.randomUUID(),
      user_id: "u1",
      merchant_id: merchantId,
      amount,
      currency: "usd",
    },
  });

describe("LiveChannel feeds", () => {
  it("delivers a merchant's payments to its channel only, and resumes with since", async () => {
    const merchantId = crypto.randomUUID();
    const m = await newCaller("merchant", merchantId);
    const s = await connect(`/ws/merchant/${merchantId}`, bearer(m));
    expect(await s.nextOf("welcome")).toMatchObject({ channel: `merchant:${merchantId}`, last_seq: 0 });

    await paymentSucceeded(crypto.randomUUID()); // someone else's payment
    await paymentSucceeded(merchantId, 1234);
    const first = await s.nextOf("event");
    expect(first).toMatchObject({
      seq: 1,
      event_type: "payment.succeeded",
      data: { amount: 1234, merchant_id: merchantId },
    });
    s.close();

    await paymentSucceeded(merchantId, 2);
    await paymentSucceeded(merchantId, 3);
    const back = await connect(`/ws/merchant/${merchantId}?since=1`, bearer(m));
    expect(await back.nextOf("welcome")).toMatchObject({ last_seq: 3, truncated: false });
    const replay = [await back.nextOf("event"), await back.nextOf("event")];
    expect(replay.map((e) => [e.seq, (e.data as { amount: number }).amount])).toEqual([
      [2, 2],
      [3, 3],
    ]);

    // Hibernation: the same socket keeps receiving after eviction.
    await evictDurableObject(env.LIVE_CHANNEL.getByName(`merchant:${merchantId}`));
    await paymentSucceeded(merchantId, 4);
    expect(await back.nextOf("event")).toMatchObject({ seq: 4 });
    back.send("ping");
    await back.nextOf("pong");
    back.send('{"type":"message"}');
    expect(await back.nextOf("error")).toMatchObject({ code: "UNKNOWN_TYPE" });
    expect(back.seen.filter((f) => f.type === "event")).toHaveLength(3);
    back.close();
  });

  it("sends new tickets to every admin's own channel and ticket activity to the merchant", async () => {
    const admin = await newCaller("admin");
    const merchantId = crypto.randomUUID();
    const merchant = await newCaller("merchant", merchantId);
    const a = await connect(`/ws/admin/${admin.sub}`, bearer(admin)); // also records the admin in the directory
    await a.nextOf("welcome");
    const mSock = await connect(`/ws/merchant/${merchantId}`, bearer(merchant));
    await mSock.nextOf("welcome");
    const user = await newCaller("user");
    await settledPayment(user.sub, merchantId); // a ticket may name only a merchant the user paid
    const { id } = await openTicket(user, { merchant_id: merchantId, subject: "Where is my order" });
    expect(await a.nextOf("event")).toMatchObject({
      event_type: "ticket.created",
      data: { ticket_id: id, subject: "Where is my order" },
    });
    expect(await mSock.nextOf("event")).toMatchObject({
      event_type: "ticket.created",
      data: { ticket_id: id },
    });
    await publish(deps(), {
      id: `sec_${crypto.randomUUID()}`,
      type: "security.alert",
      source: "test",
      data: { user_id: user.sub, kind: "new_login" },
    });
    expect(await a.nextOf("event")).toMatchObject({ event_type: "security.alert" });
    a.close();
    mSock.close();
  });

  it("keeps only the last events, ignores repeats and flags a too-old since", async () => {
    const merchantId = crypto.randomUUID();
    const name = `merchant:${merchantId}`;
    const stub = env.LIVE_CHANNEL.getByName(name);
    const seqs = await runInDurableObject(stub, async (instance: LiveChannel) => {
      const out: Array<number | null> = [];
      for (let i = 0; i < LIVE_LOG_SIZE + 5; i++) {
        out.push(
          (await instance.push({ id: `e${i}`, type: "payment.succeeded", occurred_at: i, data: { i } })).seq,
        );
      }
      out.push((await instance.push({ id: "e0-late", type: "x", occurred_at: 0, data: {} })).seq);
      out.push((await instance.push({ id: `e${LIVE_LOG_SIZE}`, type: "x", occurred_at: 0, data: {} })).seq);
      return out;
    });
    expect(seqs.at(-1)).toBeNull();
    const kept = await runInDurableObject(stub, (_: LiveChannel, state) =>
      state.storage.sql
        .exec<{ n: number; lo: number }>("SELECT COUNT(*) AS n, MIN(seq) AS lo FROM events")
        .one(),
    );
    expect(kept.n).toBe(LIVE_LOG_SIZE);
    expect(kept.lo).toBe(LIVE_LOG_SIZE + 6 - LIVE_LOG_SIZE + 1);
    const m = await newCaller("merchant", merchantId);
    const s = await connect(`/ws/merchant/${merchantId}?since=0`, bearer(m));
    expect(await s.nextOf("welcome")).toMatchObject({
      last_seq: LIVE_LOG_SIZE + 6,
      oldest_seq: 7,
      truncated: true,
    });
    expect(await s.nextOf("event")).toMatchObject({ seq: 7 });
    s.close();
  });
});

describe("expireConnectTickets", () => {
  it("deletes expired connect tickets and keeps live ones", async () => {
    const expired = crypto.randomUUID();
    const live = crypto.randomUUID();
    const insert =
      "INSERT INTO connect_tickets (id, user_id, role, path, expires_at, created_at) VALUES (?, 'u', 'user', '/ws/x', ?, 0)";
    await env.DB.batch([
      env.DB.prepare(insert).bind(expired, Date.now() - 1000),
      env.DB.prepare(insert).bind(live, Date.now() + 60_000),
    ]);
    const n = await expireConnectTickets(testDeps());
    expect(n).toBeGreaterThanOrEqual(1);
    const left = await env.DB.prepare("SELECT id FROM connect_tickets WHERE id IN (?, ?)")
      .bind(expired, live)
      .all();
    expect(left.results).toEqual([{ id: live }]);
  });
});
