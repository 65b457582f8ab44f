import { eq, lt } from "drizzle-orm";
import { connectTickets } from "../db/schema";
import { ApiError } from "../platform/errors";
import { now, randomToken, sha256Hex } from "../platform/ids";
import type { Db, Principal, Role } from "../platform/types";
import type { SocketTarget } from "./access";

/** Long enough for a page to open its socket, short enough that a leaked URL is useless. */
export const CONNECT_TICKET_TTL_MS = 60_000;

export type IssuedTicket = { ticket: string; expires_at: number };

/** Stores only the SHA-256 of the secret: a database reader cannot open sockets with it. */
export async function issueConnectTicket(db: Db, p: Principal, target: SocketTarget): Promise<IssuedTicket> {
  const secret = randomToken(32);
  const t = now();
  const expires = t + CONNECT_TICKET_TTL_MS;
  await db.insert(connectTickets).values({
    id: await sha256Hex(secret),
    userId: p.userId,
    role: p.role,
    merchantId: p.merchantId,
    path: target.path,
    expiresAt: expires,
    createdAt: t,
  });
  return { ticket: secret, expires_at: expires };
}

const invalid = () => new ApiError("UNAUTHENTICATED", "Connect ticket is invalid, expired or already used");

/**
 * Consumes a ticket atomically (`DELETE … RETURNING`): of two racing connects, exactly one
 * gets the row. Any presentation burns it, even on the wrong path, so a leaked ticket is
 * worth at most one failed attempt.
 */
export async function consumeConnectTicket(db: Db, secret: string, path: string): Promise<Principal> {
  if (secret.length < 16 || secret.length > 128) throw invalid();
  const [row] = await db
    .delete(connectTickets)
    .where(eq(connectTickets.id, await sha256Hex(secret)))
    .returning();
  if (!row || row.expiresAt <= now() || row.path !== path) throw invalid();
  return { userId: row.userId, role: row.role as Role, merchantId: row.merchantId };
}

export async function deleteExpiredConnectTickets(db: Db, at = now()): Promise<number> {
  const rows = await db
    .delete(connectTickets)
    .where(lt(connectTickets.expiresAt, at))
    .returning({ id: connectTickets.id });
  return rows.length;
}
