import { and, asc, desc, eq, gt, lt, or, type SQL } from "drizzle-orm";
import { chatMessages, supportTickets, type TicketStatus } from "../db/schema";
import { publish } from "../events/publish";
import type { Deps } from "../platform/deps";
import { hasPaidMerchant, merchantExists } from "../platform/directory";
import { ApiError, forbidden } from "../platform/errors";
import { newId, now } from "../platform/ids";
import { type Cursor, pageOf } from "../platform/pagination";
import type { Principal } from "../platform/types";
import { loadVisibleTicket, type TicketRow } from "./access";
import { markTicketAttachmentsDeleting } from "./attachments.service";

export async function createTicket(
  deps: Deps,
  p: Principal,
  input: { subject: string; merchant_id?: string | undefined },
): Promise<TicketRow> {
  const merchantId = await ticketMerchant(deps, p, input.merchant_id ?? null);
  const t = now();
  const row: TicketRow = {
    id: newId(),
    userId: p.userId,
    merchantId,
    subject: input.subject,
    status: "open",
    lastMessageAt: null,
    createdAt: t,
    updatedAt: t,
  };
  await deps.db.insert(supportTickets).values(row);
  await publish(deps, {
    id: `ticket.created:${row.id}`,
    type: "ticket.created",
    source: "chat",
    occurred_at: t,
    data: { ticket_id: row.id, user_id: row.userId, merchant_id: row.merchantId, subject: row.subject },
  });
  return row;
}

/**
 * The merchant a ticket is about: it reaches that merchant's live feed, so the platform must
 * have a relation for it (docs/chat-protocol.md, "Tickets and merchants"). A merchant's ticket is
 * always about its own business (another id is a 403). Anyone else may name only a known
 * merchant (else 422), and a user only one they have paid (a settled payment; else 403).
 */
async function ticketMerchant(deps: Deps, p: Principal, named: string | null): Promise<string | null> {
  if (p.role === "merchant") {
    if (named !== null && named !== p.merchantId) throw forbidden("merchant_id must be your own merchant");
    return p.merchantId;
  }
  if (named === null) return null;
  if (!(await merchantExists(deps.db, named))) {
    throw new ApiError("UNPROCESSABLE", "merchant_id names no known merchant", {
      details: [{ path: "merchant_id", message: "unknown merchant" }],
    });
  }
  if (p.role !== "admin" && !(await hasPaidMerchant(deps.db, p.userId, named))) {
    throw forbidden("merchant_id must name a merchant you have paid");
  }
  return named;
}

/** Owner or admin; anyone else gets the 404 a missing ticket gets. */
export function getTicket(deps: Deps, p: Principal, id: string): Promise<TicketRow> {
  return loadVisibleTicket(deps.db, p, id);
}

export async function listTickets(
  deps: Deps,
  p: Principal,
  q: { status?: TicketStatus | undefined; limit: number; cursor: Cursor | null },
) {
  const where: SQL[] = [];
  // Admins see every ticket; everyone else only their own.
  if (p.role !== "admin") where.push(eq(supportTickets.userId, p.userId));
  if (q.status) where.push(eq(supportTickets.status, q.status));
  if (q.cursor) {
    const c = q.cursor;
    const before = or(
      lt(supportTickets.createdAt, c.t),
      and(eq(supportTickets.createdAt, c.t), lt(supportTickets.id, c.id)),
    );
    if (before) where.push(before);
  }
  const rows = await deps.db
    .select()
    .from(supportTickets)
    .where(and(...where))
    .orderBy(desc(supportTickets.createdAt), desc(supportTickets.id))
    .limit(q.limit + 1);
  return pageOf(rows, q.limit, (r) => ({ t: r.createdAt, id: r.id }));
}

/**
 * Moves the status (admin only; any transition, so a ticket can be reopened). The update is
 * conditional, so a repeat is a no-op that publishes nothing. Closing also closes the room's sockets.
 */
export async function setTicketStatus(
  deps: Deps,
  p: Principal,
  id: string,
  status: TicketStatus,
): Promise<TicketRow> {
  const current = await loadVisibleTicket(deps.db, p, id);
  if (current.status === status) return current;
  const t = now();
  const [row] = await deps.db
    .update(supportTickets)
    .set({ status, updatedAt: t })
    .where(and(eq(supportTickets.id, id), eq(supportTickets.status, current.status)))
    .returning();
  if (!row) throw new ApiError("CONFLICT", "Ticket changed concurrently; retry");
  if (status === "closed") {
    // New connects are already refused (the row says closed); a failure here only leaves
    // existing sockets open until they drop, which must not fail the status change itself.
    try {
      await deps.env.TICKET_ROOM.getByName(id).closeRoom(`ticket ${status}`);
    } catch (err) {
      deps.logger.error("closing ticket room failed", { ticket_id: id, err });
    }
  }
  await publish(deps, {
    id: `ticket.status_changed:${id}:${t}:${status}`,
    type: "ticket.status_changed",
    source: "chat",
    occurred_at: t,
    data: { ticket_id: id, user_id: row.userId, merchant_id: row.merchantId, status },
  });
  return row;
}

/** History from the D1 mirror, keyset-paginated on seq (the cursor carries the last seq). */
export async function listMessages(
  deps: Deps,
  p: Principal,
  ticketId: string,
  q: { limit: number; cursor: Cursor | null; order: "asc" | "desc" },
) {
  await loadVisibleTicket(deps.db, p, ticketId);
  const where: SQL[] = [eq(chatMessages.ticketId, ticketId)];
  if (q.cursor)
    where.push(q.order === "asc" ? gt(chatMessages.seq, q.cursor.t) : lt(chatMessages.seq, q.cursor.t));
  const rows = await deps.db
    .select()
    .from(chatMessages)
    .where(and(...where))
    .orderBy(q.order === "asc" ? asc(chatMessages.seq) : desc(chatMessages.seq))
    .limit(q.limit + 1);
  return pageOf(rows, q.limit, (r) => ({ t: r.seq, id: r.id }));
}

/**
 * Erases a ticket (docs/chat-protocol.md, "Attachments"). The room goes first (sockets closed,
 * its log and outbox dropped), so no mirror writes history back; if that fails nothing else has
 * changed and the caller retries. Then one D1 batch: the files become `deleting`, the history and
 * the ticket go. The R2 objects are deleted by the cron's sweep, retried until done.
 */
export async function eraseTicket(deps: Deps, p: Principal, id: string): Promise<void> {
  await loadVisibleTicket(deps.db, p, id);
  try {
    await deps.env.TICKET_ROOM.getByName(id).eraseRoom("ticket deleted");
  } catch (err) {
    throw new ApiError("UPSTREAM_UNAVAILABLE", "Could not erase the ticket's room; retry", { cause: err });
  }
  const d1 = deps.env.DB;
  await d1.batch([
    markTicketAttachmentsDeleting(d1, id, now()),
    d1.prepare("DELETE FROM chat_messages WHERE ticket_id = ?1").bind(id),
    d1.prepare("DELETE FROM support_tickets WHERE id = ?1").bind(id),
  ]);
}
