import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { TicketRoom } from "../../src/chat/ticket-room";
import { newCaller } from "../helpers/auth";
import { eventually } from "../helpers/eventually";
import { join, msg, openTicket, roomStub } from "./helpers";

const mirrored = (ticketId: string) =>
  env.DB.prepare("SELECT id, seq, body, read_at FROM chat_messages WHERE ticket_id = ? ORDER BY seq")
    .bind(ticketId)
    .all<{ id: string; seq: number; body: string; read_at: number | null }>()
    .then((r) => r.results);

const outbox = (ticketId: string) =>
  runInDurableObject(roomStub(ticketId), (_: TicketRoom, state) =>
    state.storage.sql.exec<{ kind: string; attempts: number }>("SELECT kind, attempts FROM outbox").toArray(),
  );

describe("D1 mirror", () => {
  it("mirrors every message and read receipt to D1", async () => {
    const owner = await newCaller("user");
    const admin = await newCaller("admin");
    const { id } = await openTicket(owner);
    const o = await join(owner, id);
    const a = await join(admin, id);
    a.send(msg("m1", "hello from support"));
    const ack = await a.nextOf("ack");
    await o.nextOf("message");
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

  it("keeps a failed mirror in the outbox and the alarm delivers it", async () => {
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
      const rows = await outbox(id);
      return rows.some((r) => r.attempts >= 1) ? rows : null;
    }, "a failed mirror attempt in the outbox");
    expect(pending).toEqual([{ kind: "message", attempts: 1 }]);
    expect(await runInDurableObject(roomStub(id), (_: TicketRoom, s) => s.storage.getAlarm())).not.toBeNull();

    expect((await mirrored(id)).map((r) => r.id)).toEqual([squatter]);

    await env.DB.prepare("DELETE FROM chat_messages WHERE id = ?").bind(squatter).run();
    await runDurableObjectAlarm(roomStub(id));

    expect(await mirrored(id)).toEqual([{ id: ack.id, seq: 1, body: "must not be lost", read_at: null }]);
    expect(await outbox(id)).toEqual([]);
    expect(await runInDurableObject(roomStub(id), (_: TicketRoom, s) => s.storage.getAlarm())).toBeNull();
    o.close();
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
});
