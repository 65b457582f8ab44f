import { eq } from "drizzle-orm";
import type Stripe from "stripe";
import { subscriptions } from "../../db/schema";
import type { Deps } from "../../platform/deps";
import { followDunning } from "../dunning";
import { isMissing, mapStripeError } from "../stripe-errors";
import { settleChange } from "../subscription-change.service";
import { type SubscriptionRow, syncFromStripe } from "../subscription-sync";
import { deferred, type EventHandler, ignored, processed } from "./types";

export async function subscriptionRow(
  deps: Deps,
  stripeId: string,
  ourId: string | null | undefined,
): Promise<SubscriptionRow | undefined> {
  const row = await deps.db
    .select()
    .from(subscriptions)
    .where(eq(subscriptions.stripeSubscriptionId, stripeId))
    .get();
  if (row || !ourId) return row;
  return deps.db.select().from(subscriptions).where(eq(subscriptions.id, ourId)).get();
}

/** Stripe's current subscription; the event's copy only when Stripe no longer has it. */
export async function currentSubscription(
  deps: Deps,
  fallback: Stripe.Subscription,
): Promise<Stripe.Subscription> {
  try {
    return await deps.stripe.subscriptions.retrieve(fallback.id);
  } catch (err) {
    if (isMissing(err)) return fallback;
    throw mapStripeError(err, "subscription retrieve");
  }
}

/** customer.subscription.*: status, periods, amounts and cancellation are synced from Stripe. */
export const onSubscription: EventHandler = async (deps, event) => {
  const sub = event.data.object as Stripe.Subscription;
  const row = await subscriptionRow(deps, sub.id, sub.metadata?.subscription_id);
  if (!row) return sub.metadata?.subscription_id ? deferred(sub.id) : ignored("subscription not ours");
  // A deletion is final and carried by the event itself; anything else is re-read.
  const current = event.type === "customer.subscription.deleted" ? sub : await currentSubscription(deps, sub);
  const synced = await syncFromStripe(deps, row, current, event.id);
  await settleChange(deps, synced);
  await followDunning(deps, synced, current);
  return processed;
};
