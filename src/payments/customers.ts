import { eq } from "drizzle-orm";
import { customers } from "../db/schema";
import type { Deps } from "../platform/deps";
import { newId } from "../platform/ids";
import { callStripe } from "./stripe-errors";

/**
 * The caller's Stripe customer, created on first use. The key `cus:<user_id>` makes
 * concurrent first uses resolve to one Stripe customer; the UNIQUE user_id makes one row.
 */
export async function ensureCustomer(deps: Deps, userId: string): Promise<string> {
  const existing = await deps.db.select().from(customers).where(eq(customers.userId, userId)).get();
  if (existing) return existing.stripeCustomerId;
  const customer = await callStripe("customer create", () =>
    deps.stripe.customers.create({ metadata: { user_id: userId } }, { idempotencyKey: `cus:${userId}` }),
  );
  await deps.db
    .insert(customers)
    .values({ id: newId(), userId, stripeCustomerId: customer.id, createdAt: Date.now() })
    .onConflictDoNothing();
  const row = await deps.db.select().from(customers).where(eq(customers.userId, userId)).get();
  return row?.stripeCustomerId ?? customer.id;
}
