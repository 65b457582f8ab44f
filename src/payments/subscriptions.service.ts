import { desc, eq } from "drizzle-orm";
import type Stripe from "stripe";
import { subscriptions } from "../db/schema";
import type { Deps } from "../platform/deps";
import { ApiError, notFound } from "../platform/errors";
import { newId } from "../platform/ids";
import type { Principal } from "../platform/types";
import { ownerOrAdmin } from "./access";
import { ensureCustomer } from "./customers";
import { derivedUuid } from "./ids";
import { forgetPrice, priceIdFor } from "./plan-prices";
import { PLANS, planById } from "./plans";
import type { CreateSubscriptionInput } from "./schemas";
import { callStripe, isCardError, isInactivePrice, mapStripeError } from "./stripe-errors";
import { withdrawScheduledChange } from "./subscription-change.service";
import { claimSlot, releaseClaim, stripeRefused, takeClaim } from "./subscription-claims";
import { applySubscription, ENDED, type SubscriptionRow, syncFromStripe } from "./subscription-sync";
import { planView, subscriptionView } from "./views";
import { drainDeferred } from "./webhooks/deferred";

/** The plans on offer, from configuration (plans.ts); nothing to read. */
export function listPlans() {
  return { items: PLANS.map(planView) };
}

/**
 * The row is claimed first (subscription-claims.ts): one live paid subscription per user is a
 * D1 constraint, not a check. Free plans are then done. Paid plans need a payment method,
 * which is attached to the customer and made its invoice default (Stripe refuses an
 * unattached method), then the Stripe subscription is created with key `sub:<id>` and the row
 * completed from it; webhooks that arrived in between are applied.
 */
export async function createSubscription(
  deps: Deps,
  principal: Principal,
  input: CreateSubscriptionInput,
  clientKey: string | null,
) {
  const plan = planById(input.plan);
  if (!plan) throw new ApiError("VALIDATION_FAILED", "Unknown plan");
  const id = clientKey ? await derivedUuid("subscription", principal.userId, clientKey) : newId();
  const t = Date.now();
  const base = {
    id,
    userId: principal.userId,
    planId: plan.id,
    amount: plan.amount,
    currency: plan.currency,
    interval: plan.interval,
    quantity: 1,
    cancelAtPeriodEnd: false,
    canceledAt: null,
    endedAt: null,
    currentPeriodEnd: null,
    createdAt: t,
    updatedAt: t,
  };
  const lookupKey = plan.lookup_key;
  if (lookupKey === null) {
    return subscriptionView(await claimSlot(deps, { ...base, status: "active", currentPeriodStart: t }));
  }
  const method = input.payment_method;
  if (!method) {
    throw new ApiError("VALIDATION_FAILED", "payment_method is required for a paid plan", {
      details: [{ path: "payment_method", message: "required for paid plans" }],
    });
  }
  const priceId = await priceIdFor(deps, { ...plan, lookup_key: lookupKey });
  const claim = await claimSlot(deps, { ...base, status: "incomplete" });
  if (claim.stripeSubscriptionId !== null) return subscriptionView(claim);
  await takeClaim(deps, claim);
  let sub: Stripe.Subscription;
  try {
    sub = await createWithCurrentPrice(deps, lookupKey, {
      id,
      userId: principal.userId,
      planId: plan.id,
      priceId,
      method,
    });
  } catch (err) {
    if (stripeRefused(err)) await releaseClaim(deps, id);
    if (isCardError(err)) {
      throw new ApiError("PAYMENT_FAILED", err.message || "The card was declined", {
        details: { code: err.code ?? null, decline_code: err.decline_code || null, subscription_id: id },
      });
    }
    if (isInactivePrice(err)) forgetPrice(lookupKey);
    throw mapStripeError(err, "subscription create");
  }
  // The one D1 write after Stripe: if it fails, the claim stays and a retry with the same key
  // (or a webhook, or the reconciler) completes it from the same Stripe subscription.
  await syncFromStripe(deps, await load(deps, id), sub, `sub.create:${id}`);
  await drainDeferred(deps, sub.id);
  return subscriptionView(await load(deps, id));
}

/**
 * The cached price id may be stale (sync-plans moved the lookup key to a new price): Stripe
 * refuses the old, now inactive, price. That failure is our cache's, not the request's, so it
 * must never become the key's stored answer: the cache is refreshed and the create retried
 * once with the current price (Stripe saved nothing for the refused create, so `sub:<id>` is
 * free to carry the new parameters).
 */
async function createWithCurrentPrice(
  deps: Deps,
  lookupKey: string,
  p: Parameters<typeof createAtStripe>[1],
): Promise<Stripe.Subscription> {
  try {
    return await createAtStripe(deps, p);
  } catch (err) {
    if (!isInactivePrice(err)) throw err;
    forgetPrice(lookupKey);
    const current = await priceIdFor(deps, { id: p.planId, lookup_key: lookupKey });
    if (current === p.priceId) throw err;
    deps.logger.info("plan price changed at Stripe; retried with the current price", {
      plan: p.planId,
      stale: p.priceId,
      current,
    });
    return createAtStripe(deps, { ...p, priceId: current });
  }
}

/** Attach → customer default → subscription, each with a key derived from our id. */
async function createAtStripe(
  deps: Deps,
  p: { id: string; userId: string; planId: string; priceId: string; method: string },
): Promise<Stripe.Subscription> {
  const customer = await ensureCustomer(deps, p.userId);
  const pm = await deps.stripe.paymentMethods.attach(
    p.method,
    { customer },
    { idempotencyKey: `pm:${p.id}` },
  );
  await deps.stripe.customers.update(
    customer,
    { invoice_settings: { default_payment_method: pm.id } },
    { idempotencyKey: `cus-default:${p.id}` },
  );
  return deps.stripe.subscriptions.create(
    {
      customer,
      items: [{ price: p.priceId }],
      default_payment_method: pm.id,
      payment_behavior: "error_if_incomplete",
      metadata: { subscription_id: p.id, user_id: p.userId, plan: p.planId },
    },
    { idempotencyKey: `sub:${p.id}` },
  );
}

async function load(deps: Deps, id: string): Promise<SubscriptionRow> {
  const row = await deps.db.select().from(subscriptions).where(eq(subscriptions.id, id)).get();
  if (!row) throw notFound("Subscription");
  return row;
}

export async function listSubscriptions(deps: Deps, principal: Principal) {
  const rows = await deps.db
    .select()
    .from(subscriptions)
    .where(eq(subscriptions.userId, principal.userId))
    .orderBy(desc(subscriptions.createdAt), desc(subscriptions.id))
    .limit(100);
  return { items: rows.map(subscriptionView) };
}

/** Cancel now (status canceled, churn) or at period end (Stripe ends it later by webhook). */
export async function cancelSubscription(deps: Deps, principal: Principal, id: string, atPeriodEnd: boolean) {
  const row = await deps.db.select().from(subscriptions).where(eq(subscriptions.id, id)).get();
  if (!row || !ownerOrAdmin(principal, row.userId)) throw notFound("Subscription");
  if (ENDED.includes(row.status)) return subscriptionView(row);
  const stripeId = row.stripeSubscriptionId;
  const t = Date.now();
  if (stripeId === null && row.amount > 0) {
    // A claim whose Stripe outcome is unknown: cancelling only our row could leave a billing
    // Stripe subscription behind. The retry or the reconciler settles it first.
    throw new ApiError("CONFLICT", "This subscription is still being set up; retry shortly", {
      headers: { "Retry-After": "5" },
    });
  }
  if (stripeId === null) {
    const next = atPeriodEnd
      ? { status: row.status, cancelAtPeriodEnd: true }
      : { status: "canceled", canceledAt: t, endedAt: t, cancelAtPeriodEnd: false };
    return subscriptionView(await applySubscription(deps, row, next, `sub.cancel:${id}`));
  }
  const current = atPeriodEnd ? await withdrawScheduledChange(deps, row, stripeId) : row;
  const sub = await callStripe("subscription cancel", () =>
    atPeriodEnd
      ? deps.stripe.subscriptions.update(stripeId, { cancel_at_period_end: true })
      : deps.stripe.subscriptions.cancel(stripeId),
  );
  return subscriptionView(
    await syncFromStripe(deps, current, sub, `sub.cancel:${id}:${atPeriodEnd ? "later" : "now"}`),
  );
}
