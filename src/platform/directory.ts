import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { payments, users } from "../db/schema";
import type { Db, Principal } from "./types";

// Users already recorded by this isolate, so the directory costs one write per user per
// isolate rather than one per request. Bounded so a long-lived isolate cannot grow it forever.
const seen = new Set<string>();
const SEEN_MAX = 10_000;

/**
 * Records (or refreshes) a verified caller in the `users` directory. Takes the client lazily:
 * almost every call is a hit in `seen`, and a request's session client is built on first use.
 */
export async function rememberUser(db: () => Db, p: Principal): Promise<void> {
  const key = `${p.userId}|${p.role}|${p.merchantId ?? ""}`;
  if (seen.has(key)) return;
  const t = Date.now();
  await db()
    .insert(users)
    .values({ id: p.userId, role: p.role, merchantId: p.merchantId, createdAt: t, lastSeenAt: t })
    .onConflictDoUpdate({
      target: users.id,
      set: { role: p.role, merchantId: p.merchantId, lastSeenAt: sql`excluded.last_seen_at` },
    });
  if (seen.size >= SEEN_MAX) seen.clear();
  seen.add(key);
}

export async function adminIds(db: Db): Promise<string[]> {
  const rows = await db.select({ id: users.id }).from(users).where(eq(users.role, "admin"));
  return rows.map((r) => r.id);
}

export async function merchantUserIds(db: Db, merchantId: string): Promise<string[]> {
  const rows = await db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.merchantId, merchantId), eq(users.role, "merchant")));
  return rows.map((r) => r.id);
}

/** The `limit` admins seen most recently (ties broken by id, so the choice is stable). */
export async function recentAdminIds(db: Db, limit: number): Promise<string[]> {
  const rows = await db
    .select({ id: users.id })
    .from(users)
    .where(eq(users.role, "admin"))
    .orderBy(desc(users.lastSeenAt), users.id)
    .limit(limit);
  return rows.map((r) => r.id);
}

/** The merchant a payment belongs to, for events (disputes) that name only the payment. */
export async function paymentMerchantId(db: Db, paymentId: string): Promise<string | null> {
  const [row] = await db
    .select({ merchantId: payments.merchantId })
    .from(payments)
    .where(eq(payments.id, paymentId))
    .limit(1);
  return row?.merchantId ?? null;
}

/**
 * A merchant the platform knows: some caller with the merchant role was seen with this
 * merchant id. Payments and tickets may name only these (docs/payments.md, "Merchant ids").
 */
export async function merchantExists(db: Db, merchantId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.merchantId, merchantId), eq(users.role, "merchant")))
    .limit(1);
  return row !== undefined;
}

/** Money was taken (possibly since refunded or disputed); kept in step with payments/payment-state.ts. */
const SETTLED = ["succeeded", "partially_refunded", "refunded", "disputed"] as const;

/** Whether `userId` has a settled payment to `merchantId`: the relation a ticket about that merchant needs. */
export async function hasPaidMerchant(db: Db, userId: string, merchantId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: payments.id })
    .from(payments)
    .where(
      and(
        eq(payments.userId, userId),
        eq(payments.merchantId, merchantId),
        inArray(payments.status, [...SETTLED]),
      ),
    )
    .limit(1);
  return row !== undefined;
}
