import { and, eq, isNull, lte, ne, sql } from "drizzle-orm";
import { chatMessages, supportTickets } from "../db/schema";
import { type EventDeps, publish } from "../events/publish";
import { ApiError } from "../platform/errors";
import type { Attachment } from "./protocol";
import type { OutboxRow, RoomMeta, RoomStore } from "./room-store";

/** Retry schedule for a failing mirror: 10 s, 20 s, 40 s … capped at 5 minutes. */
export function retryDelayMs(attempts: number): number {
  return Math.min(10_000 * 2 ** Math.max(0, attempts - 1), 300_000);
}

/**
 * Drains the outbox in order, stopping at the first failure so a read receipt never
 * overtakes the message it marks. Every step is idempotent (insert by id ON CONFLICT(id)
 * DO NOTHING, conditional updates, events keyed by id), so a crash between the D1 write and
 * the outbox delete only repeats harmless work. Returns the attempts of the row that failed.
 */
export async function drainOutbox(store: RoomStore, meta: RoomMeta, deps: EventDeps): Promise<number | null> {
  for (;;) {
    const rows = store.outbox();
    if (rows.length === 0) return null;
    for (const row of rows) {
      try {
        await apply(row, store, meta, deps);
        store.outboxDone(row.id);
      } catch (err) {
        if (err instanceof ApiError && err.status < 500) {
          // A row that can never succeed (e.g. event data the publisher rejects) must not block the rest.
          deps.logger.error("chat outbox: dropping invalid row", { kind: row.kind, ref: row.ref, err });
          store.outboxDone(row.id);
          continue;
        }
        const attempts = store.outboxFailed(row.id, err instanceof Error ? err.message : String(err));
        deps.logger.warn("chat outbox: mirror failed, will retry", {
          ticket_id: meta.ticketId,
          kind: row.kind,
          attempts,
          err,
        });
        return attempts;
      }
    }
  }
}

async function apply(row: OutboxRow, store: RoomStore, meta: RoomMeta, deps: EventDeps): Promise<void> {
  switch (row.kind) {
    case "message": {
      const m = store.byId(row.ref);
      if (!m) return;
      // Conflict target is the id only: a different message in the same (ticket, seq) slot is a
      // real error and must fail loudly rather than be silently skipped.
      await deps.db.batch([
        deps.db
          .insert(chatMessages)
          .values({
            id: m.id,
            ticketId: meta.ticketId,
            seq: m.seq,
            senderId: m.sender_id,
            senderRole: m.sender_role,
            body: m.body,
            attachments: JSON.parse(m.attachments) as Attachment[],
            clientId: m.client_id,
            readAt: m.read_at,
            createdAt: m.created_at,
          })
          .onConflictDoNothing({ target: chatMessages.id }),
        deps.db
          .update(supportTickets)
          .set({ lastMessageAt: sql`max(coalesce(${supportTickets.lastMessageAt}, 0), ${m.created_at})` })
          .where(eq(supportTickets.id, meta.ticketId)),
      ]);
      return;
    }
    case "read": {
      const r = JSON.parse(row.ref) as { reader_id: string; up_to: number; read_at: number };
      await deps.db
        .update(chatMessages)
        .set({ readAt: r.read_at })
        .where(
          and(
            eq(chatMessages.ticketId, meta.ticketId),
            lte(chatMessages.seq, r.up_to),
            ne(chatMessages.senderId, r.reader_id),
            isNull(chatMessages.readAt),
          ),
        );
      return;
    }
    case "replied": {
      const m = store.byId(row.ref);
      if (!m) return;
      await publish(deps, {
        id: `ticket.replied:${m.id}`,
        type: "ticket.replied",
        source: "chat",
        occurred_at: m.created_at,
        data: {
          ticket_id: meta.ticketId,
          user_id: meta.ownerId,
          merchant_id: meta.merchantId,
          message_id: m.id,
          sender_id: m.sender_id,
          preview: m.body.slice(0, 200),
        },
      });
      return;
    }
  }
}
