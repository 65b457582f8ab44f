import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { MirrorSchedule } from "../../src/chat/mirror-schedule";
import { MIRROR_BUSY_COALESCE_MS, MIRROR_COALESCE_MS } from "../../src/chat/room-mirror";
import type { RoomStore } from "../../src/chat/room-store";
import type { TicketRoom } from "../../src/chat/ticket-room";
import { newCaller } from "../helpers/auth";
import { eventually } from "../helpers/eventually";
import { type Frame, join, msg, openTicket, roomStub } from "./helpers";

const mirrored = (ticketId: string) =>
  env.DB.prepare("SELECT id, seq, body, read_at FROM chat_messages WHERE ticket_id = ? ORDER BY seq")
    .bind(ticketId)
    .all<{ id: string; seq: number; body: string; read_at: number | null }>()
    .then((r) => r.results);

const outbox = (ticketId: string) =>
  runInDurableObject(roomStub(ticketId), (_: TicketRoom, state) =>
    state.storage.sql.exec<{ kind: string; attempts: number }>("SELECT kind, attempts FROM outbox").toArray(),
  );

/** The mirror cursor and the failed attempts counted on the message above it, as the room stores them. */
const cursor = (ticketId: string) =>
  runInDurableObject(roomStub(ticketId), (_: TicketRoom, state) => {
    const rows = state.storage.sql
      .exec<{ key: string; value: string }>(
        "SELECT key, value FROM meta WHERE key IN ('mirrored_seq', 'mirror_attempts')",
      )
      .toArray();
    const get = (k: string) => rows.find((r) => r.key === k)?.value;
    return { mirrored: Number(get("mirrored_seq") ?? -1), attempts: Number(get("mirror_attempts") ?? 0) };
  });

/** Message n of the ticket's owner, as the room's store takes it (written straight in, no socket). */
const ownerMessage = (id: string, n: number, ownerId: string) => ({
  id,
  client_id: `c${n}`,
  sender_id: ownerId,
  sender_role: "user",
  body: `message ${n}`,
  attachments: "[]",
  created_at: Date.now(),
});

describe("D1 mirror", () => {
  it("mirrors every message and read receipt to D1", async () => {
    const owner = await newCaller("user");
    const admin = await newCaller("admin");
    const { id } = await openTicket(owner);
    const o = await join(owner, id);
    const a = await join(admin, id);
    a.send(msg("m1", "hello from support"));
    const ack = await a.nextOf("ack");
    const delivered = await o.nextOf("message");
    // A UUIDv7 whose 48-bit time is the message's own created_at (right-edge inserts in D1).
    const messageId = String(ack.id);
    expect(messageId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Number.parseInt(messageId.replaceAll("-", "").slice(0, 12), 16)).toBe(
      Date.parse(String(delivered.created_at)),
    );
    o.send({ type: "read", up_to: 1 });
    await a.nextOf("read");
    const rows = await eventually(async () => {
      const r = await mirrored(id);
      return r.length === 1 && r[0]?.read_at ? r : null;
    }, "the read message mirrored to D1");
    expect(rows[0]).toMatchObject({ id: ack.id, seq: 1, body: "hello from support" });
    const ticket = await env.DB.prepare("SELECT last_message_at FROM support_tickets WHERE id = ?")
      .bind(id)
      .first<{ last_message_at: number | null }>();
    expect(ticket?.last_message_at).not.toBeNull();
    o.close();
    a.close();
  });

  it("keeps a failed mirror above the cursor and the alarm delivers it", async () => {
    const owner = await newCaller("user");
    const { id } = await openTicket(owner);
    // A foreign row already holding (ticket, seq 1): the mirror's insert hits the unique index.
    const squatter = crypto.randomUUID();
    await env.DB.prepare(
      "INSERT INTO chat_messages (id, ticket_id, seq, sender_id, sender_role, body, created_at) VALUES (?, ?, 1, 'x', 'user', 'squatter', 0)",
    )
      .bind(squatter, id)
      .run();
    const o = await join(owner, id);
    o.send(msg("keep-me", "must not be lost"));
    const ack = await o.nextOf("ack");
    const pending = await eventually(async () => {
      const c = await cursor(id);
      return c.attempts >= 1 ? c : null;
    }, "a failed mirror attempt counted");
    // The cursor stays below the message D1 refused: it is still owed, and nothing sits in the outbox.
    expect(pending).toEqual({ mirrored: 0, attempts: 1 });
    expect(await outbox(id)).toEqual([]);
    expect(await runInDurableObject(roomStub(id), (_: TicketRoom, s) => s.storage.getAlarm())).not.toBeNull();

    expect((await mirrored(id)).map((r) => r.id)).toEqual([squatter]);

    await env.DB.prepare("DELETE FROM chat_messages WHERE id = ?").bind(squatter).run();
    await runDurableObjectAlarm(roomStub(id));

    expect(await mirrored(id)).toEqual([{ id: ack.id, seq: 1, body: "must not be lost", read_at: null }]);
    expect(await cursor(id)).toEqual({ mirrored: 1, attempts: 0 });
    expect(await runInDurableObject(roomStub(id), (_: TicketRoom, s) => s.storage.getAlarm())).toBeNull();
    o.close();
  });

  it("a room stored with one outbox row per message converts them to the cursor without losing one", async () => {
    const owner = await newCaller("user");
    const { id } = await openTicket(owner);
    // Hold the mirror back (a squatter on seq 2) so messages 2 and 3 are still owed to D1.
    await env.DB.prepare(
      "INSERT INTO chat_messages (id, ticket_id, seq, sender_id, sender_role, body, created_at) VALUES (?, ?, 2, 'x', 'user', 'squatter', 0)",
    )
      .bind(crypto.randomUUID(), id)
      .run();
    const o = await join(owner, id);
    const acks: Frame[] = [];
    for (const n of [1, 2, 3]) {
      o.send(msg(`legacy-${n}`, `message ${n}`));
      acks.push(await o.nextOf("ack"));
    }
    await eventually(
      async () => ((await cursor(id)).attempts >= 1 ? true : null),
      "the mirror stuck on seq 2",
    );
    expect((await mirrored(id)).map((r) => r.body)).toEqual(["message 1", "squatter"]);
    o.close();
    // Rewrite the room's storage into the pre-cursor shape: no cursor, one `message` row per
    // unmirrored message; then evict it so the next instance starts from storage alone.
    await runInDurableObject(roomStub(id), (_: TicketRoom, state) => {
      state.storage.sql.exec("DELETE FROM meta WHERE key IN ('mirrored_seq', 'mirror_attempts')");
      for (const a of acks.slice(1))
        state.storage.sql.exec("INSERT INTO outbox (kind, ref) VALUES ('message', ?)", String(a.id));
    });
    await evictDurableObject(roomStub(id));
    await env.DB.prepare("DELETE FROM chat_messages WHERE ticket_id = ? AND body = 'squatter'")
      .bind(id)
      .run();
    await runDurableObjectAlarm(roomStub(id));

    expect((await mirrored(id)).map((r) => [r.seq, r.body])).toEqual([
      [1, "message 1"],
      [2, "message 2"],
      [3, "message 3"],
    ]);
    expect(await cursor(id)).toEqual({ mirrored: 3, attempts: 0 });
    expect(await outbox(id)).toEqual([]);
  });

  it("publishes ticket.replied when an agent replies to an absent owner, once", async () => {
    const owner = await newCaller("user");
    const admin = await newCaller("admin");
    const { id } = await openTicket(owner);
    const a = await join(admin, id);
    a.send(msg("reply-1", "We refunded you"));
    const ack = await a.nextOf("ack");
    const event = await eventually(
      () =>
        env.DB.prepare("SELECT type, payload FROM domain_events WHERE id = ?")
          .bind(`ticket.replied:${ack.id}`)
          .first<{ type: string; payload: string }>(),
      "the ticket.replied event",
    );
    expect(JSON.parse(event.payload)).toMatchObject({
      ticket_id: id,
      user_id: owner.sub,
      sender_id: admin.sub,
      message_id: ack.id,
      preview: "We refunded you",
    });

    // With the owner connected, a reply is delivered live and no event is published.
    const o = await join(owner, id);
    a.send(msg("reply-2", "anything else?"));
    const ack2 = await a.nextOf("ack");
    await o.nextOf("message");
    await eventually(async () => ((await outbox(id)).length === 0 ? true : null), "an empty outbox");
    const none = await env.DB.prepare("SELECT id FROM domain_events WHERE id = ?")
      .bind(`ticket.replied:${ack2.id}`)
      .first();
    expect(none).toBeNull();
    o.close();
    a.close();
  });

  it("an erase during a drain waits for it: nothing the drain read is written after, no cursor or alarm left", async () => {
    const owner = await newCaller("user");
    const { id } = await openTicket(owner);
    // A squatter on seq 3: the batch fails and the drain goes message by message, with awaits
    // between D1 writes that an erase can land in.
    await env.DB.prepare(
      "INSERT INTO chat_messages (id, ticket_id, seq, sender_id, sender_role, body, created_at) VALUES (?, ?, 3, 'x', 'user', 'squatter', 0)",
    )
      .bind(crypto.randomUUID(), id)
      .run();
    const o = await join(owner, id);
    o.close();
    await runInDurableObject(roomStub(id), async (instance: TicketRoom) => {
      const room = instance as unknown as { store: RoomStore; mirror: MirrorSchedule };
      for (const n of [1, 2, 3]) room.store.append(ownerMessage(`erase-race-${id}-${n}`, n, owner.sub));
      const inFlight = room.mirror.flush();
      await instance.eraseRoom("ticket deleted");
      // What eraseTicket does next, once the room has answered.
      await env.DB.prepare("DELETE FROM chat_messages WHERE ticket_id = ?").bind(id).run();
      await inFlight;
    });
    expect(await mirrored(id)).toEqual([]);
    expect(await cursor(id)).toEqual({ mirrored: 0, attempts: 0 });
    expect(await runInDurableObject(roomStub(id), (_: TicketRoom, s) => s.storage.getAlarm())).toBeNull();
  });

  it("a room quiet for longer than a busy window mirrors its next write on the quiet window again", async () => {
    const owner = await newCaller("user");
    const { id } = await openTicket(owner);
    const o = await join(owner, id);
    o.close();
    type Room = { store: RoomStore; mirror: MirrorSchedule };
    // A busy window: two writes ride one timer, which drains them.
    await runInDurableObject(roomStub(id), (instance: TicketRoom) => {
      const room = instance as unknown as Room;
      for (const n of [1, 2]) {
        room.store.append(ownerMessage(`busy-${id}-${n}`, n, owner.sub));
        room.mirror.wrote();
      }
    });
    await eventually(
      async () => ((await mirrored(id)).length === 2 ? true : null),
      "the busy window drained",
    );
    // Then nothing for longer than a busy window: the room is quiet, whatever its last window held.
    await new Promise((r) => setTimeout(r, MIRROR_BUSY_COALESCE_MS + 200));
    const windowMs = await runInDurableObject(roomStub(id), (instance: TicketRoom) => {
      const spy = vi.spyOn(globalThis, "setTimeout");
      try {
        (instance as unknown as Room).mirror.wrote();
        return spy.mock.calls[0]?.[1];
      } finally {
        spy.mockRestore();
      }
    });
    expect(windowMs).toBe(MIRROR_COALESCE_MS);
  });

  it("a message D1 refuses holds back only what depends on it: the reply before it is still published", async () => {
    const owner = await newCaller("user");
    const admin = await newCaller("admin");
    const { id } = await openTicket(owner);
    await env.DB.prepare(
      "INSERT INTO chat_messages (id, ticket_id, seq, sender_id, sender_role, body, created_at) VALUES (?, ?, 2, 'x', 'user', 'squatter', 0)",
    )
      .bind(crypto.randomUUID(), id)
      .run();
    const a = await join(admin, id);
    a.close();
    const ids = [1, 2].map((n) => `held-${id}-${n}`);
    await runInDurableObject(roomStub(id), async (instance: TicketRoom) => {
      const room = instance as unknown as { store: RoomStore; mirror: MirrorSchedule };
      for (const [n, mid] of ids.entries())
        room.store.append(
          {
            id: mid,
            client_id: `c${n}`,
            sender_id: admin.sub,
            sender_role: "admin",
            body: `reply ${n}`,
            attachments: "[]",
            created_at: Date.now(),
          },
          ["replied"],
        );
      await room.mirror.flush();
    });
    const published = (mid: string) =>
      env.DB.prepare("SELECT id FROM domain_events WHERE id = ?").bind(`ticket.replied:${mid}`).first();
    expect(await cursor(id)).toEqual({ mirrored: 1, attempts: 1 });
    // Message 1 is in D1, so its event owes nothing to message 2; message 2's waits for it.
    expect(await published(ids[0] as string)).not.toBeNull();
    expect(await published(ids[1] as string)).toBeNull();
    expect(await outbox(id)).toEqual([{ kind: "replied", attempts: 0 }]);
  });
});
