import { and, asc, eq, gt, isNull, lte, notInArray, or } from "drizzle-orm";
import type Stripe from "stripe";
import { customers, subscriptions } from "../db/schema";
import type { Deps } from "../platform/deps";
import { callStripe } from "./stripe-errors";
import { releaseClaim } from "./subscription-claims";
import { ENDED, type SubscriptionRow, syncFromStripe } from "./subscription-sync";
import { drainDeferred } from "./webhooks/deferred";

/** Stripe states in which a subscription bills and is worth keeping. */
const KEEP = ["active", "trialing", "past_due"];

export type SubscriptionReconcileResult = { completed: number; cancelled: number; released: number };

/**
 * Cron job for subscription creates whose outcome was never recorded (a 5xx or timeout from
 * Stripe, or D1 failing after Stripe created the subscription): paid claim rows older than
 * `olderThanMs` (SUBSCRIPTION_RECONCILE_AFTER_MINUTES) with no Stripe id. Each is settled from Stripe, found through the customer's
 * subscriptions and our `metadata.subscription_id`:
 *  - a billing subscription completes the row (the customer was charged for it);
 *  - one that never got going (incomplete, …) is cancelled at Stripe and the row ends with it;
 *  - none at all releases the claim, so the user can subscribe again.
 * Subscriptions of the same customer naming a row we do not have are orphans (they bill and
 * nobody sees their webhooks): they are cancelled. Every correction is logged.
 */
export async function reconcileSubscriptionClaims(
  deps: Deps,
  olderThanMs = deps.config.SUBSCRIPTION_RECONCILE_AFTER_MINUTES * 60_000,
  limit = 50,
): Promise<SubscriptionReconcileResult> {
  const result: SubscriptionReconcileResult = { completed: 0, cancelled: 0, released: 0 };
  const claims = await deps.db
    .select()
    .from(subscriptions)
    .where(
      and(
        isNull(subscriptions.stripeSubscriptionId),
        gt(subscriptions.amount, 0),
        notInArray(subscriptions.status, ENDED),
        lte(subscriptions.createdAt, Date.now() - olderThanMs),
        // A retry under the same key takes the claim up again (takeClaim): give it the same age.
        lte(subscriptions.updatedAt, Date.now() - olderThanMs),
      ),
    )
    .orderBy(asc(subscriptions.createdAt))
    .limit(limit);
  for (const claim of claims) {
    try {
      await settle(deps, claim, result);
    } catch (err) {
      deps.logger.error("subscription claim not settled; next run retries", {
        subscription_id: claim.id,
        err,
      });
    }
  }
  return result;
}

async function settle(deps: Deps, claim: SubscriptionRow, result: SubscriptionReconcileResult) {
  const customer = await deps.db.select().from(customers).where(eq(customers.userId, claim.userId)).get();
  const listed = customer
    ? await callStripe("subscription list", () =>
        deps.stripe.subscriptions.list({ customer: customer.stripeCustomerId, status: "all", limit: 100 }),
      )
    : { data: [] as Stripe.Subscription[] };
  const ours = listed.data.filter((s) => s.metadata?.user_id === claim.userId && s.metadata?.subscription_id);
  const match = ours.find((s) => s.metadata.subscription_id === claim.id);
  if (!match) {
    // Only if no retry took the claim up since it was read: that retry may have created the
    // Stripe subscription after our list.
    if (!(await releaseClaim(deps, claim.id, claim.updatedAt))) {
      deps.logger.info("subscription claim taken up while reconciling; left for the next run", {
        subscription_id: claim.id,
      });
      return;
    }
    result.released++;
    deps.logger.warn("reconciler released a subscription claim Stripe never created", {
      subscription_id: claim.id,
    });
  } else if (KEEP.includes(match.status)) {
    await syncFromStripe(deps, claim, match, `reconcile:${claim.id}`);
    await drainDeferred(deps, match.id);
    result.completed++;
    deps.logger.warn("reconciler completed a subscription from Stripe", {
      subscription_id: claim.id,
      stripe_subscription_id: match.id,
      status: match.status,
    });
  } else {
    const ended = await cancelAtStripe(deps, match);
    await syncFromStripe(deps, claim, ended, `reconcile:${claim.id}`);
    result.cancelled++;
    deps.logger.warn("reconciler cancelled a subscription that never started", { subscription_id: claim.id });
  }
  for (const other of ours) {
    if (other === match || ENDED.includes(other.status)) continue;
    const known = await deps.db
      .select({ id: subscriptions.id })
      .from(subscriptions)
      .where(
        or(
          eq(subscriptions.id, other.metadata.subscription_id ?? ""),
          eq(subscriptions.stripeSubscriptionId, other.id),
        ),
      )
      .get();
    if (known) continue;
    await cancelAtStripe(deps, other);
    result.cancelled++;
    deps.logger.warn("reconciler cancelled an orphaned Stripe subscription", {
      stripe_subscription_id: other.id,
      names_row: other.metadata.subscription_id,
    });
  }
}

function cancelAtStripe(deps: Deps, sub: Stripe.Subscription): Promise<Stripe.Subscription> {
  if (ENDED.includes(sub.status)) return Promise.resolve(sub);
  return callStripe("subscription cancel", () => deps.stripe.subscriptions.cancel(sub.id));
}
