import { and, desc, eq, inArray } from "drizzle-orm";
import type Stripe from "stripe";
import { subscriptions } from "../db/schema";
import type { Deps } from "../platform/deps";
import { ApiError, notFound } from "../platform/errors";
import { newId } from "../platform/ids";
import type { Principal } from "../platform/types";
import { ownerOrAdmin } from "./access";
import { ensureCustomer } from "./customers";
import { derivedUuid } from "./ids";
import { PLANS, planById } from "./plans";
import type { CreateSubscriptionInput } from "./schemas";
import { callStripe, isCardError, mapStripeError } from "./stripe-errors";
import { applySubscription, ENDED, type SubscriptionRow, syncFromStripe } from "./subscription-sync";
import { planView, subscriptionView } from "./views";
import { drainDeferred } from "./webhooks/deferred";

const LIVE = ["active", "trialing", "past_due", "incomplete", "unpaid", "paused"];

/** The plans on offer, from configuration (plans.ts); nothing to read. */
export function listPlans() {
  return { items: PLANS.map(planView) };
}

/**
 * Free plans never touch Stripe. Paid plans need a payment method; the Stripe
 * subscription is created first (key `sub:<id>`) and our row follows, then any webhook
 * that arrived in between is applied. One live paid subscription per user.
 */
export async function createSubscription(
  deps: Deps,
  principal: Principal,
  input: CreateSubscriptionInput,
  clientKey: string | null,
) {
  const plan = planById(input.plan);
  if (!plan) throw new ApiError("VALIDATION_FAILED", "Unknown plan");
  const live = await deps.db
    .select()
    .from(subscriptions)
    .where(and(eq(subscriptions.userId, principal.userId), inArray(subscriptions.status, LIVE)));
  if (live.some((s) => s.planId === plan.id || s.amount > 0 === plan.amount > 0)) {
    throw new ApiError("CONFLICT", "You already have a live subscription; cancel it first", {
      details: { subscription_ids: live.map((s) => s.id) },
    });
  }
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
    createdAt: t,
    updatedAt: t,
  };
  const priceId = plan.stripe_price_id;
  if (priceId === null) {
    await deps.db
      .insert(subscriptions)
      .values({ ...base, status: "active", currentPeriodStart: t })
      .onConflictDoNothing();
    return subscriptionView(await load(deps, id));
  }
  const method = input.payment_method;
  if (!method) {
    throw new ApiError("VALIDATION_FAILED", "payment_method is required for a paid plan", {
      details: [{ path: "payment_method", message: "required for paid plans" }],
    });
  }
  const customer = await ensureCustomer(deps, principal.userId);
  let sub: Stripe.Subscription;
  try {
    sub = await deps.stripe.subscriptions.create(
      {
        customer,
        items: [{ price: priceId }],
        default_payment_method: method,
        payment_behavior: "error_if_incomplete",
        metadata: { subscription_id: id, user_id: principal.userId, plan: plan.id },
      },
      { idempotencyKey: `sub:${id}` },
    );
  } catch (err) {
    if (isCardError(err)) {
      throw new ApiError("PAYMENT_FAILED", err.message || "The card was declined", {
        details: { code: err.code ?? null, decline_code: err.decline_code || null, subscription_id: id },
      });
    }
    throw mapStripeError(err, "subscription create");
  }
  await deps.db
    .insert(subscriptions)
    .values({ ...base, status: "incomplete", stripeSubscriptionId: sub.id, stripeCustomerId: customer })
    .onConflictDoNothing();
  const row = await load(deps, id);
  await syncFromStripe(deps, row, sub, `sub.create:${id}`);
  await drainDeferred(deps, sub.id);
  return subscriptionView(await load(deps, id));
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
  if (stripeId === null) {
    const next = atPeriodEnd
      ? { status: row.status, cancelAtPeriodEnd: true }
      : { status: "canceled", canceledAt: t, endedAt: t, cancelAtPeriodEnd: false };
    return subscriptionView(await applySubscription(deps, row, next, `sub.cancel:${id}`));
  }
  const sub = await callStripe("subscription cancel", () =>
    atPeriodEnd
      ? deps.stripe.subscriptions.update(stripeId, { cancel_at_period_end: true })
      : deps.stripe.subscriptions.cancel(stripeId),
  );
  return subscriptionView(
    await syncFromStripe(deps, row, sub, `sub.cancel:${id}:${atPeriodEnd ? "later" : "now"}`),
  );
}
