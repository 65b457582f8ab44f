import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { LiveChannel } from "../../src/chat/live-channel";
import { MAX_ADMIN_CHANNELS } from "../../src/chat/on-event";
import { newCaller } from "../helpers/auth";
import { bearer, connect, openTicket } from "./helpers";

const eventsIn = (adminId: string) =>
  runInDurableObject(env.LIVE_CHANNEL.getByName(`admin:${adminId}`), (_: LiveChannel, state) =>
    state.storage.sql.exec<{ id: string }>("SELECT id FROM events").toArray(),
  );

describe("admin fan-out with a big directory", () => {
  it("a ticket is still created, the most recently seen admins get it, the stalest do not", async () => {
    // A directory far bigger than the fan-out bound, every row older than any real caller.
    const stale = Array.from({ length: MAX_ADMIN_CHANNELS * 3 }, (_, i) => ({
      id: crypto.randomUUID(),
      seen: 1_000 + i,
    }));
    const insert = env.DB.prepare(
      "INSERT INTO users (id, role, merchant_id, created_at, last_seen_at) VALUES (?, 'admin', NULL, ?, ?)",
    );
    await env.DB.batch(stale.map((a) => insert.bind(a.id, a.seen, a.seen)));

    const admin = await newCaller("admin");
    const feed = await connect(`/ws/admin/${admin.sub}`, bearer(admin)); // records the admin as seen now
    await feed.nextOf("welcome");

    const { id } = await openTicket(await newCaller("user"), { subject: "Big directory" });
    expect(await feed.nextOf("event")).toMatchObject({
      event_type: "ticket.created",
      data: { ticket_id: id },
    });

    const newestStale = stale.at(-1);
    const oldestStale = stale[0];
    if (!newestStale || !oldestStale) throw new Error("no stale admins");
    expect((await eventsIn(newestStale.id)).length).toBe(1);
    expect(await eventsIn(oldestStale.id)).toEqual([]);
    feed.close();
  });
});
