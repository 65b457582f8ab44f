import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { LiveFeed } from "../../packages/client/src/chat/live-feed";
import type { LiveChannel } from "../../src/chat/live-channel";
import { newCaller } from "../helpers/auth";
import { eventually } from "../helpers/eventually";
import { workerdTransport } from "./workerd-socket";

const channelOf = (merchantId: string) => env.LIVE_CHANNEL.getByName(`merchant:${merchantId}`);

/** Pushes numbered events the way the live-channels sink does (a repeated id is ignored). */
const push = (merchantId: string, from: number, to: number) =>
  runInDurableObject(channelOf(merchantId), async (instance: LiveChannel) => {
    for (let i = from; i <= to; i++)
      await instance.push({ id: `ev-${i}`, type: "payment.succeeded", occurred_at: i, data: { i } });
  });

const killSockets = (merchantId: string) =>
  runInDurableObject(channelOf(merchantId), (_: LiveChannel, state) => {
    for (const ws of state.getWebSockets()) ws.close(1012, "service restart");
  });

describe("LiveFeed through the real channel", () => {
  it("resumes with since after the socket dies, each event once and in order", async () => {
    const merchantId = crypto.randomUUID();
    const m = await newCaller("merchant", merchantId);
    const feed = new LiveFeed({
      channel: `merchant:${merchantId}`,
      auth: { mode: "ticket", token: () => m.token },
      ...workerdTransport(),
    });
    const got: number[] = [];
    feed.on("event", (e) => got.push((e.data as { i: number }).i));
    const truncated: unknown[] = [];
    feed.on("truncated", (t) => truncated.push(t));
    await push(merchantId, 1, 2); // before the client: not replayed, it starts live
    feed.connect();
    await eventually(async () => feed.lastSeq === 2, "welcome");

    await push(merchantId, 3, 5);
    await eventually(async () => got.length === 3, "live events");
    await killSockets(merchantId);
    await push(merchantId, 6, 8); // while the client is reconnecting
    await push(merchantId, 5, 6); // a retried publish: the channel ignores repeated ids
    await eventually(async () => got.length === 6, "replayed events");
    await push(merchantId, 9, 9);
    await eventually(async () => got.length === 7, "live after replay");
    expect(got).toEqual([3, 4, 5, 6, 7, 8, 9]);
    // Where it would resume: the channel's newest seq. (Not 9: an ignored repeat still uses up
    // an AUTOINCREMENT value, so channel seqs can have gaps; the client never assumes they do not.)
    const newest = await runInDurableObject(channelOf(merchantId), (_: LiveChannel, state) =>
      state.storage.sql.exec<{ s: number }>("SELECT MAX(seq) AS s FROM events").one(),
    );
    expect(feed.lastSeq).toBe(newest.s);
    expect(truncated).toEqual([]);
    feed.close();
  });

  it("says so when it was away longer than the channel keeps", async () => {
    const merchantId = crypto.randomUUID();
    const m = await newCaller("merchant", merchantId);
    await push(merchantId, 1, 3);
    // A client that last saw seq 1 of a channel whose oldest kept event is later than 2.
    await runInDurableObject(channelOf(merchantId), (_: LiveChannel, state) => {
      state.storage.sql.exec("DELETE FROM events WHERE seq <= 2");
    });
    const feed = new LiveFeed({
      channel: `merchant:${merchantId}`,
      since: 0,
      auth: { mode: "bearer", token: () => m.token },
      ...workerdTransport(),
    });
    const truncated: Array<{ since: number; oldest_seq: number }> = [];
    feed.on("truncated", (t) => truncated.push(t));
    feed.connect();
    await eventually(async () => feed.lastSeq === 3, "the kept event");
    expect(truncated).toEqual([{ since: 0, oldest_seq: 3 }]);
    feed.close();
  });
});
