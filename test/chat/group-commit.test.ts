import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CLOSE, LIMITS } from "../../src/chat/protocol";
import type { TicketRoom } from "../../src/chat/ticket-room";
import { newCaller } from "../helpers/auth";
import {
  type Frame,
  inRoomWithSocket,
  join,
  msg,
  openTicket,
  ownerWithOneMessage,
  roomStub,
} from "./helpers";

// The room writes the frames it accepted in one turn together on the next (one commit for all,
// src/chat/ticket-room.ts `accept`). These prove the guarantees survive the deferral: arrival
// order, client_id dedup inside one batch, the empty-resend rule, no write after an erase, a
// failed write stopping the batch, and out-of-band answers not overtaking the batch's acks.

const stored = (id: string) =>
  runInDurableObject(roomStub(id), (_o, state) =>
    state.storage.sql
      .exec<{ seq: number; client_id: string; created_at: number }>(
        "SELECT seq, client_id, created_at FROM messages ORDER BY seq",
      )
      .toArray(),
  );

describe("TicketRoom group commit", () => {
  it("a burst keeps arrival order, dedups inside the batch and answers every frame once", async () => {
    const owner = await newCaller("user");
    const agent = await newCaller("admin");
    const { id } = await openTicket(owner);
    const o = await join(owner, id);
    const ag = await join(agent, id);
    // One client turn: all of these reach the room before its next write turn.
    o.send(msg("b-1"));
    o.send(msg("b-2"));
    o.send(msg("b-1", "resent with another body"));
    o.send({ type: "message", client_id: "b-2", body: "  " }); // an empty resend of a pending id
    o.send({ type: "message", client_id: "b-empty", body: "" }); // empty and new: refused
    o.send(msg("b-3"));
    o.send({ type: "read", up_to: 0 });

    const acks: Frame[] = [];
    for (let i = 0; i < 5; i++) acks.push(await o.nextOf("ack"));
    expect(acks.map((a) => [a.client_id, a.seq, a.duplicate ?? false])).toEqual([
      ["b-1", 1, false],
      ["b-2", 2, false],
      ["b-1", 1, true],
      ["b-2", 2, true],
      ["b-3", 3, false],
    ]);
    expect(await o.nextOf("error")).toMatchObject({ code: "VALIDATION_FAILED", client_id: "b-empty" });
    const seen = [await ag.nextOf("message"), await ag.nextOf("message"), await ag.nextOf("message")];
    expect(seen.map((m) => [m.client_id, m.seq, m.body])).toEqual([
      ["b-1", 1, "hello b-1"],
      ["b-2", 2, "hello b-2"],
      ["b-3", 3, "hello b-3"],
    ]);
    const rows = await stored(id);
    expect(rows.map((r) => r.client_id)).toEqual(["b-1", "b-2", "b-3"]);
    // created_at never goes backwards along seq (the clocks were read in arrival order).
    for (let i = 1; i < rows.length; i++)
      expect(rows[i]?.created_at).toBeGreaterThanOrEqual(rows[i - 1]?.created_at as number);
    expect(o.seen.filter((f) => f.type === "ack")).toHaveLength(5);
    o.close();
    ag.close();
  });

  it("frames accepted but not yet written are dropped by an erase, never written after it", async () => {
    const { id, o } = await ownerWithOneMessage("first");
    await inRoomWithSocket(id, async (room, ws) => {
      // Accepted in this turn, due in the next; the erase comes before that turn. Two things keep
      // it out: the erase drops the pending frames, and a room without meta writes nothing.
      await room.webSocketMessage(ws, JSON.stringify(msg("late")));
      await room.eraseRoom("ticket deleted");
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(await stored(id)).toEqual([]);
    expect(o.seen.some((f) => f.type === "ack" && f.client_id === "late")).toBe(false);
  });

  it("a write that fails stops the batch: earlier frames are acked, it and every later frame are answered UNAVAILABLE and written by their resends, in order", async () => {
    const owner = await newCaller("user");
    const agent = await newCaller("admin");
    const { id } = await openTicket(owner);
    const o = await join(owner, id);
    const ag = await join(agent, id);
    await runInDurableObject(roomStub(id), (room: TicketRoom) => {
      // The store is private; failing its second append once stands in for a full disk.
      const store = (room as unknown as { store: { append: (...a: unknown[]) => unknown } }).store;
      const append = store.append.bind(store);
      let calls = 0;
      store.append = (...a: unknown[]) => {
        calls++;
        if (calls === 2) throw new Error("SQLITE_FULL: database or disk is full");
        return append(...a);
      };
    });
    o.send(msg("f-1"));
    o.send(msg("f-2"));
    o.send(msg("f-3"));
    expect(await o.nextOf("ack")).toMatchObject({ client_id: "f-1", seq: 1 });
    expect(await o.nextOf("error", (e) => e.client_id === "f-2")).toMatchObject({ code: "UNAVAILABLE" });
    // f-3 came after the failure: not written in that turn (it would overtake f-2's resend).
    expect(await o.nextOf("error", (e) => e.client_id === "f-3")).toMatchObject({ code: "UNAVAILABLE" });
    expect((await stored(id)).map((r) => r.client_id)).toEqual(["f-1"]);
    // The client resends what was refused, in order; each is stored once, after f-1.
    o.send(msg("f-2"));
    o.send(msg("f-3"));
    expect(await o.nextOf("ack", (a) => a.client_id === "f-3")).toMatchObject({ seq: 3 });
    expect((await stored(id)).map((r) => r.client_id)).toEqual(["f-1", "f-2", "f-3"]);
    expect(o.seen.filter((f) => f.type === "ack").map((f) => f.client_id)).toEqual(["f-1", "f-2", "f-3"]);
    await ag.nextOf("message", (m) => m.client_id === "f-3");
    o.close();
    ag.close();
  });

  it("an out-of-band answer first writes and answers the frames before it: the ack precedes an error, and a close does not lose it", async () => {
    const owner = await newCaller("user");
    const { id } = await openTicket(owner);
    const o = await join(owner, id);
    o.send(msg("o-1"));
    o.send("not json");
    await o.nextOf("error", (e) => e.code !== undefined && e.client_id === undefined);
    expect(o.seen.filter((f) => f.type === "ack" || f.type === "error").map((f) => f.type)).toEqual([
      "ack",
      "error",
    ]);
    // A frame too big to parse closes the socket (1009, final for the shipped client): o-2's ack comes first.
    o.send(msg("o-2"));
    o.send("x".repeat(LIMITS.maxFrameBytes + 1));
    expect((await o.closed()).code).toBe(CLOSE.tooBig);
    expect(o.seen.filter((f) => f.type === "ack").map((f) => f.client_id)).toEqual(["o-1", "o-2"]);
    expect((await stored(id)).map((r) => r.client_id)).toEqual(["o-1", "o-2"]);
  });
});
