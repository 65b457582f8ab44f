import { eq, lt } from "drizzle-orm";
import { connectTickets } from "../db/schema";
import type { Deps } from "../platform/deps";
import { ApiError } from "../platform/errors";
import { now, randomToken, sha256Hex } from "../platform/ids";
import type { Principal, Role } from "../platform/types";
import { assertSocketAccess, parseSocketPath } from "./access";

/** Long enough for a page to open its socket, short enough that a leaked URL is useless. */
export const CONNECT_TICKET_TTL_MS = 60_000;

/** `path` is the socket path the ticket opens, the one the caller asked for. */
export type IssuedTicket = { ticket: string; expires_at: number; path: string };

/**
 * Checks access now (and the socket checks it again at connect, so a ticket closed in between
 * cannot slip through). Stores only the SHA-256 of the secret: a database reader cannot open
 * sockets with it.
 */
export async function issueConnectTicket(deps: Deps, p: Principal, path: string): Promise<IssuedTicket> {
  const target = parseSocketPath(path);
  if (!target) {
    throw new ApiError("VALIDATION_FAILED", "path is not a socket path", {
      details: [{ path: "path", message: "expected /ws/support/{id}, /ws/merchant/{id} or /ws/admin/{id}" }],
    });
  }
  await assertSocketAccess(deps.db, p, target);
  const secret = randomToken(32);
  const t = now();
  const expires = t + CONNECT_TICKET_TTL_MS;
  await deps.db.insert(connectTickets).values({
    id: await sha256Hex(secret),
    userId: p.userId,
    role: p.role,
    merchantId: p.merchantId,
    path: target.path,
    expiresAt: expires,
    createdAt: t,
  });
  return { ticket: secret, expires_at: expires, path: target.path };
}

const invalid = () => new ApiError("UNAUTHENTICATED", "Connect ticket is invalid, expired or already used");

/**
 * Consumes a ticket atomically (`DELETE … RETURNING`): of two racing connects, exactly one
 * gets the row. Any presentation burns it, even on the wrong path, so a leaked ticket is
 * worth at most one failed attempt.
 */
export async function consumeConnectTicket(deps: Deps, secret: string, path: string): Promise<Principal> {
  if (secret.length < 16 || secret.length > 128) throw invalid();
  const [row] = await deps.db
    .delete(connectTickets)
    .where(eq(connectTickets.id, await sha256Hex(secret)))
    .returning();
  if (!row || row.expiresAt <= now() || row.path !== path) throw invalid();
  return { userId: row.userId, role: row.role as Role, merchantId: row.merchantId };
}

/** Consumed tickets are deleted at connect; this sweeps the ones nobody ever used. */
export async function deleteExpiredConnectTickets(deps: Deps, at = now()): Promise<number> {
  const rows = await deps.db
    .delete(connectTickets)
    .where(lt(connectTickets.expiresAt, at))
    .returning({ id: connectTickets.id });
  return rows.length;
}
