import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newCaller } from "../helpers/auth";
import { eventually } from "../helpers/eventually";
import { join, msg, openTicket, roomStub } from "./helpers";

// From the hostile review of f30b8a1 (group commit). A frame is several statements (the messages
// INSERT, then the outbox INSERT for `replied`/`read`); before each frame ran as one unit
// (RoomStore's `transact`, storage.transactionSync), a failure in the second kept the first. The docs'
// error table says "nothing stored or acked; resend", and the resend then takes the duplicate
// path, which skips everything the failed frame never did (broadcast, `replied`, mirror).
// The failure is a real SQLite error raised by a trigger (statement-level ABORT, as a
// constraint or a statement-journaled SQLITE_FULL would be).

const failOutbox = (ticketId: string, kind: string) =>
  runInDurableObject(roomStub(ticketId), (_r, state) => {
    state.storage.sql.exec(
      `CREATE TRIGGER review_fail BEFORE INSERT ON outbox WHEN NEW.kind = '${kind}' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`,
    );
  });
const heal = (ticketId: string) =>
  runInDurableObject(roomStub(ticketId), (_r, state) => {
    state.storage.sql.exec("DROP TRIGGER review_fail");
  });
const storedIds = (ticketId: string) =>
  runInDurableObject(roomStub(ticketId), (_r, state) =>
    state.storage.sql
      .exec<{ client_id: string }>("SELECT client_id FROM messages")
      .toArray()
      .map((r) => r.client_id),
  );

describe("group commit: a frame whose write fails half-way", () => {
  it("an UNAVAILABLE answer means nothing of the frame was stored", async () => {
    const owner = await newCaller("user");
    const agent = await newCaller("admin");
    const { id } = await openTicket(owner);
    const ag = await join(agent, id); // the owner is offline: the reply queues `replied`
    await failOutbox(id, "replied");
    ag.send(msg("r-1", "we refunded you"));
    expect(await ag.nextOf("error")).toMatchObject({ code: "UNAVAILABLE", client_id: "r-1" });
    // docs/chat-protocol.md: "nothing stored or acked; resend" (before the fix, r-1 was kept).
    expect(await storedIds(id)).toEqual([]);
    ag.close();
  });

  it("the resend after UNAVAILABLE delivers the message: live to the others and as ticket.replied to the absent owner", async () => {
    const owner = await newCaller("user");
    const agent = await newCaller("admin");
    const agent2 = await newCaller("admin");
    const { id } = await openTicket(owner);
    const ag = await join(agent, id);
    const other = await join(agent2, id);
    await failOutbox(id, "replied");
    ag.send(msg("r-1", "we refunded you"));
    await ag.nextOf("error", (e) => e.client_id === "r-1");
    await heal(id);
    ag.send(msg("r-1", "we refunded you")); // what the client does with UNAVAILABLE
    const ack = await ag.nextOf("ack", (a) => a.client_id === "r-1");
    // Had the row been kept, the resend would be a duplicate and nothing below would happen.
    expect(await other.nextOf("message", (m) => m.client_id === "r-1", 1000)).toMatchObject({ seq: ack.seq });
    await eventually(
      () =>
        env.DB.prepare("SELECT id FROM domain_events WHERE id = ?").bind(`ticket.replied:${ack.id}`).first(),
      "the ticket.replied event for the resent reply",
      { tries: 20 },
    );
    ag.close();
    other.close();
  });

  it("a read receipt whose outbox write failed still reaches D1 once the storage recovers and the reader reads again", async () => {
    const owner = await newCaller("user");
    const agent = await newCaller("admin");
    const { id } = await openTicket(owner);
    const o = await join(owner, id);
    const ag = await join(agent, id);
    ag.send(msg("m-1"));
    const ack = await ag.nextOf("ack");
    await o.nextOf("message");
    await eventually(
      () => env.DB.prepare("SELECT id FROM chat_messages WHERE id = ?").bind(ack.id).first(),
      "the message in D1",
      { tries: 30 },
    );
    await failOutbox(id, "read");
    o.send({ type: "read", up_to: 1 });
    await new Promise((r) => setTimeout(r, 100));
    await heal(id);
    o.send({ type: "read", up_to: 1 });
    // Had the failed frame's UPDATE of read_at been kept, the second read would change no row,
    // queue nothing and broadcast nothing: D1's read_at would stay NULL for good.
    await eventually(
      () =>
        env.DB.prepare("SELECT read_at FROM chat_messages WHERE id = ? AND read_at IS NOT NULL")
          .bind(ack.id)
          .first(),
      "read_at in D1",
      { tries: 25 },
    );
    expect(await ag.nextOf("read", () => true, 500)).toMatchObject({ up_to: 1 });
    o.close();
    ag.close();
  });
});
