import { eq } from "drizzle-orm";
import { supportTickets } from "../db/schema";
import { ApiError, notFound } from "../platform/errors";
import type { Db, Principal } from "../platform/types";

/** A socket path the platform serves, parsed. The path is also what a connect ticket is bound to. */
export type SocketTarget =
  | { kind: "support"; id: string; path: string }
  | { kind: "merchant"; id: string; path: string }
  | { kind: "admin"; id: string; path: string };

const SOCKET_PATH = /^\/ws\/(support|merchant|admin)\/([\w.:@-]{1,128})$/;

export function parseSocketPath(path: string): SocketTarget | null {
  const m = SOCKET_PATH.exec(path);
  if (!m?.[1] || !m[2]) return null;
  return { kind: m[1] as SocketTarget["kind"], id: m[2], path };
}

export type TicketRow = typeof supportTickets.$inferSelect;

/** Owner or admin; everyone else gets the same 404 as a missing ticket, so ids leak nothing. */
export function canSeeTicket(p: Principal, t: TicketRow): boolean {
  return p.role === "admin" || t.userId === p.userId;
}

export async function loadVisibleTicket(db: Db, p: Principal, id: string): Promise<TicketRow> {
  const [row] = await db.select().from(supportTickets).where(eq(supportTickets.id, id)).limit(1);
  if (!row || !canSeeTicket(p, row)) throw notFound("Ticket");
  return row;
}

/**
 * Who may open which socket (docs/chat-protocol.md, "Opening a socket"). Checked when a
 * connect ticket is issued and again at connect, so a ticket closed in between, or a revoked
 * role, cannot slip through.
 * Returns the ticket row for support rooms: the Worker hands owner and merchant to the room.
 */
export async function assertSocketAccess(
  db: Db,
  p: Principal,
  target: SocketTarget,
): Promise<TicketRow | null> {
  switch (target.kind) {
    case "support": {
      const ticket = await loadVisibleTicket(db, p, target.id);
      if (ticket.status === "closed") throw new ApiError("CONFLICT", "Ticket is closed");
      return ticket;
    }
    case "merchant":
      if (p.role !== "merchant" || p.merchantId !== target.id)
        throw new ApiError("FORBIDDEN", "Only that merchant may open its channel");
      return null;
    case "admin":
      if (p.role !== "admin" || p.userId !== target.id)
        throw new ApiError("FORBIDDEN", "Only that admin may open their channel");
      return null;
  }
}
