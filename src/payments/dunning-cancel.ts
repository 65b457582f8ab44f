import { and, asc, eq, isNotNull, lte, sql } from "drizzle-orm";
import type Stripe from "stripe";
import { subscriptions } from "../db/schema";
import type { Deps } from "../platform/deps";
import { DAY_MS, endDunning } from "./dunning";
import { leaseFree } from "./dunning-lease";
import { callStripe, isMissing, mapStripeError } from "./stripe-errors";
import { type SubscriptionRow, syncFromStripe } from "./subscription-sync";

/**
 * The cron's end of dunning: a subscription still past_due DUNNING_GRACE_DAYS after its
 * renewal failed is cancelled at Stripe and its churn recorded. Each row is claimed first with
 * a conditional UPDATE (a lease), so two runs at once cancel it once; a run that died after
 * Stripe answered leaves the lease to expire and the next run re-reads Stripe, finds it
 * canceled and records it. Churn is applySubscription's MRR movement: once, whichever of this
 * sync or the customer.subscription.deleted webhook lands first.
 */

const BATCH = 50;

export async function cancelLapsedSubscriptions(deps: Deps, now = Date.now()) {
  const cutoff = now - deps.config.DUNNING_GRACE_DAYS * DAY_MS;
  const due = await deps.db
    .select()
    .from(subscriptions)
    .where(
      and(
        eq(subscriptions.status, "past_due"),
        isNotNull(subscriptions.stripeSubscriptionId),
        lte(subscriptions.dunningStartedAt, cutoff),
        leaseFree(now),
      ),
    )
    .orderBy(asc(subscriptions.dunningStartedAt))
    .limit(BATCH);
  const result = { canceled: 0, recovered: 0, skipped: 0, failed: 0 };
  for (const row of due) {
    try {
      result[await cancelOne(deps, row, now)]++;
    } catch (err) {
      result.failed++;
      deps.logger.error("dunning cancel failed; retried on the next run", { subscription_id: row.id, err });
    }
  }
  return result;
}

async function cancelOne(deps: Deps, row: SubscriptionRow, now: number) {
  const [claimed] = await deps.db
    .update(subscriptions)
    .set({ dunningCancelClaimedAt: now, updatedAt: sql`max(${subscriptions.updatedAt} + 1, ${now})` })
    .where(
      and(
        eq(subscriptions.id, row.id),
        eq(subscriptions.status, "past_due"),
        eq(subscriptions.dunningStartedAt, row.dunningStartedAt ?? -1),
        leaseFree(now),
      ),
    )
    .returning();
  const stripeId = row.stripeSubscriptionId;
  if (!claimed || !stripeId) return "skipped" as const;
  // Re-read first: the customer may have paid since (its webhook not yet in), or an earlier
  // run may have cancelled it before dying; only a subscription Stripe still calls past_due
  // is cancelled.
  let sub: Stripe.Subscription = await callStripe("subscription retrieve", () =>
    deps.stripe.subscriptions.retrieve(stripeId),
  );
  const wasPastDue = sub.status === "past_due";
  if (wasPastDue)
    sub = await cancelAtStripe(deps, stripeId, `dunning-cancel:${row.id}:${row.dunningStartedAt}`);
  const synced = await syncFromStripe(deps, claimed, sub, `dunning.cancel:${row.id}:${row.dunningStartedAt}`);
  await endDunning(deps, row.id);
  deps.logger.info("dunning grace elapsed; subscription cancelled", {
    subscription_id: row.id,
    stripe_subscription_id: stripeId,
    status: synced.status,
    recovered: !wasPastDue,
  });
  return wasPastDue ? ("canceled" as const) : ("recovered" as const);
}

/**
 * Stripe ignores idempotency keys on DELETE, so the key is only a label in its logs; what
 * makes a repeat harmless is that cancelling a canceled subscription is refused
 * (resource_missing), which here means "already done": the current copy is read instead.
 */
async function cancelAtStripe(deps: Deps, stripeId: string, key: string): Promise<Stripe.Subscription> {
  try {
    return await deps.stripe.subscriptions.cancel(stripeId, {}, { idempotencyKey: key });
  } catch (err) {
    if (!isMissing(err)) throw mapStripeError(err, "subscription cancel");
    return callStripe("subscription retrieve", () => deps.stripe.subscriptions.retrieve(stripeId));
  }
}
