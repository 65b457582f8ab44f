// Chat message ids are UUIDv7 (ticket-room.ts): distinct within a millisecond, accepted by the
// schemas, and a room that still holds v4 ids from before pages and resumes by seq, not by id.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { MirrorSchedule } from "../../src/chat/mirror-schedule";
import type { RoomStore } from "../../src/chat/room-store";
import type { TicketRoom } from "../../src/chat/ticket-room";
import { newTimeOrderedId } from "../../src/platform/ids";
import { newCaller } from "../helpers/auth";
import { bodyOf } from "../helpers/body";
import { eventually } from "../helpers/eventually";
import { api } from "../helpers/http";
import { join, msg, openTicket, roomStub } from "./helpers";

describe("UUIDv7 chat message ids", () => {
  it("ids of one millisecond are distinct and z.uuid() accepts them", () => {
    const t = Date.now();
    const ids = Array.from({ length: 5000 }, () => newTimeOrderedId(t));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids.slice(0, 50)) expect(z.uuid().safeParse(id).success).toBe(true);
  });

  it("a room holding v4 ids from before the change pages by seq with its new v7 ids (REST and resume)", async () => {
    const owner = await newCaller("user");
    const { id } = await openTicket(owner);
    (await join(owner, id)).close();
    // Legacy messages, ids chosen to sort on both sides of any v7 id, so id order ≠ seq order.
    const legacy = ["ffffffff-ffff-4fff-bfff-ffffffffffff", "00000000-0000-4000-8000-000000000001"];
    await runInDurableObject(roomStub(id), (instance: TicketRoom) => {
      const room = instance as unknown as { store: RoomStore; mirror: MirrorSchedule };
      legacy.forEach((lid, i) => {
        room.store.append({
          id: lid,
          client_id: `legacy-${i}`,
          sender_id: owner.sub,
          sender_role: "user",
          body: `legacy ${i}`,
          attachments: "[]",
          created_at: Date.now(),
        });
      });
      room.mirror.wrote();
    });
    const o = await join(owner, id);
    for (const n of [1, 2, 3]) {
      o.send(msg(`new-${n}`));
      const ack = await o.nextOf("ack");
      expect(String(ack.id)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    }
    o.close();
    await eventually(async () => {
      const { results } = await env.DB.prepare("SELECT seq FROM chat_messages WHERE ticket_id = ?")
        .bind(id)
        .all();
      return results.length === 5 ? true : null;
    }, "five messages mirrored");

    for (const order of ["asc", "desc"] as const) {
      const seqs: number[] = [];
      let cursor: string | null = null;
      do {
        const q = cursor ? `&cursor=${cursor}` : "";
        const res = await api(`/api/v1/support/tickets/${id}/messages?order=${order}&limit=2${q}`, {
          headers: owner.headers,
        });
        const page = await bodyOf(res, "GET /support/tickets/:id/messages", 200);
        seqs.push(...page.items.map((m) => m.seq));
        cursor = page.next_cursor;
      } while (cursor);
      expect(seqs).toEqual(order === "asc" ? [1, 2, 3, 4, 5] : [5, 4, 3, 2, 1]);
    }

    const resumed = await join(owner, id, "?since=0");
    const replay = [];
    for (let i = 0; i < 5; i++) replay.push((await resumed.nextOf("message")).seq);
    expect(replay).toEqual([1, 2, 3, 4, 5]);
    resumed.close();
  });
});
