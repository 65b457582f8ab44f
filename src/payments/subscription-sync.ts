import { and, eq, sql } from "drizzle-orm";
import type Stripe from "stripe";
import { mrrMovements, subscriptions } from "../db/schema";
import type { Deps } from "../platform/deps";
import { newId } from "../platform/ids";
import { monthlyValue, planByLookupKey } from "./plans";
import { fromStripeTime, num, obj, str } from "./stripe-objects";

export type SubscriptionRow = typeof subscriptions.$inferSelect;

/** Statuses that never change again (Stripe's terminal states). */
export const ENDED = ["canceled", "incomplete_expired"];
/** Statuses that count towards MRR: the customer is being billed. */
const BILLED = ["active", "past_due"];

export const mrrOf = (s: Pick<SubscriptionRow, "status" | "amount" | "interval" | "quantity">): number =>
  BILLED.includes(s.status) ? monthlyValue(s.amount, s.interval, s.quantity) : 0;

function movementKind(before: number, after: number, wasEverBilled: boolean) {
  if (before === 0) return wasEverBilled ? "reactivation" : "new";
  if (after === 0) return "churn";
  return after > before ? "expansion" : "contraction";
}

/**
 * The fields we keep, read from a Stripe subscription. In the pinned API version the period
 * lives on the subscription item only (the top-level fields were removed), and the plan is
 * the price's lookup_key. The Stripe id is kept too, so a webhook can complete a claim row
 * whose request failed after Stripe created the subscription.
 */
export function fieldsFromStripe(sub: Stripe.Subscription, row: SubscriptionRow) {
  const item = sub.items?.data?.[0];
  const itemLoose = obj(item);
  const price = item?.price;
  const plan = planByLookupKey(price?.lookup_key);
  const start = num(itemLoose?.current_period_start);
  const end = num(itemLoose?.current_period_end);
  const interval = str(price?.recurring?.interval);
  return {
    status: sub.status,
    planId: plan?.id ?? row.planId,
    amount: price?.unit_amount ?? plan?.amount ?? row.amount,
    currency: price?.currency ?? row.currency,
    interval: interval === "year" || interval === "month" ? interval : row.interval,
    quantity: item?.quantity ?? row.quantity,
    currentPeriodStart: fromStripeTime(start) ?? row.currentPeriodStart,
    currentPeriodEnd: fromStripeTime(end) ?? row.currentPeriodEnd,
    cancelAtPeriodEnd: sub.cancel_at_period_end,
    canceledAt: fromStripeTime(sub.canceled_at) ?? row.canceledAt,
    endedAt: fromStripeTime(sub.ended_at) ?? row.endedAt,
    stripeCustomerId: typeof sub.customer === "string" ? sub.customer : sub.customer.id,
    stripeSubscriptionId: sub.id,
  };
}

/**
 * Applies new subscription fields and records the MRR movement they imply, once per
 * source id. Ended subscriptions are final and periods never move backwards. The update
 * is conditional on the row being unchanged since we read it (optimistic), and the
 * movement insert only happens if that update landed, in the same batch.
 */
export async function applySubscription(
  deps: Deps,
  row: SubscriptionRow,
  next: Partial<SubscriptionRow> & Pick<SubscriptionRow, "status">,
  sourceId: string,
): Promise<SubscriptionRow> {
  let current = row;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (ENDED.includes(current.status)) return current;
    const merged: SubscriptionRow = { ...current, ...next };
    if (
      current.currentPeriodStart !== null &&
      (merged.currentPeriodStart ?? 0) < current.currentPeriodStart
    ) {
      merged.currentPeriodStart = current.currentPeriodStart;
      merged.currentPeriodEnd = current.currentPeriodEnd;
    }
    const t = Math.max(Date.now(), current.updatedAt + 1);
    merged.updatedAt = t;
    const before = mrrOf(current);
    const after = mrrOf(merged);
    const { id: _id, createdAt: _c, userId: _u, ...set } = merged;
    const update = deps.db
      .update(subscriptions)
      .set(set)
      .where(and(eq(subscriptions.id, current.id), eq(subscriptions.updatedAt, current.updatedAt)));
    if (before === after) {
      await update;
    } else {
      const kind = movementKind(before, after, current.canceledAt !== null || current.endedAt !== null);
      await deps.db.batch([
        update,
        deps.db
          .insert(mrrMovements)
          .select(
            sql`select ${newId()}, ${current.id}, ${current.userId}, ${kind}, ${before}, ${after}, ${merged.currency}, ${t}, ${sourceId}
              where exists (select 1 from ${subscriptions} where id = ${current.id} and updated_at = ${t})`,
          )
          .onConflictDoNothing(),
      ]);
    }
    const fresh = await deps.db.select().from(subscriptions).where(eq(subscriptions.id, current.id)).get();
    if (!fresh) return current;
    if (fresh.updatedAt === t) return fresh;
    current = fresh;
  }
  deps.logger.warn("subscription sync gave up after concurrent updates", { subscription_id: row.id });
  return current;
}

export async function syncFromStripe(
  deps: Deps,
  row: SubscriptionRow,
  sub: Stripe.Subscription,
  sourceId: string,
) {
  return applySubscription(deps, row, fieldsFromStripe(sub, row), sourceId);
}
