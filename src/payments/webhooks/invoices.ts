import type Stripe from "stripe";
import { payments } from "../../db/schema";
import { publish } from "../../events/publish";
import type { Deps } from "../../platform/deps";
import { followDunning } from "../dunning";
import { derivedUuid } from "../ids";
import { fromStripeTime, obj, ref, str } from "../stripe-objects";
import { settleChange } from "../subscription-change.service";
import { syncFromStripe } from "../subscription-sync";
import { currentSubscription, subscriptionRow } from "./subscriptions";
import { deferred, type EventHandler, ignored, processed } from "./types";

/** The invoice's subscription id: under `parent.subscription_details` in the pinned version (top-level removed). */
function subscriptionIdOf(inv: Stripe.Invoice): string | null {
  return ref(obj(inv.parent?.subscription_details)?.subscription);
}

/** Our subscription id, from the subscription metadata Stripe copies onto the invoice. */
function ourSubscriptionIdOf(inv: Stripe.Invoice): string | null {
  const details = obj(obj(obj(inv)?.parent)?.subscription_details);
  return str(obj(details?.metadata)?.subscription_id);
}

/**
 * A paid invoice is revenue: it becomes a `payments` row (source "subscription") with an
 * id derived from the invoice, so a replay inserts nothing, and publishes payment.succeeded.
 */
export async function recordInvoicePayment(deps: Deps, inv: Stripe.Invoice, userId: string, planId: string) {
  if (!inv.amount_paid || !inv.id) return;
  const id = await derivedUuid("invoice", inv.id);
  const paidAt = fromStripeTime(obj(inv.status_transitions)?.paid_at as number | undefined) ?? Date.now();
  const t = Date.now();
  await deps.db
    .insert(payments)
    .values({
      id,
      userId,
      amount: inv.amount_paid,
      currency: inv.currency,
      status: "succeeded",
      description: `Subscription ${planId}`,
      source: "subscription",
      metadata: { invoice_id: inv.id },
      stripeCustomerId: ref(inv.customer),
      receiptUrl: str(inv.hosted_invoice_url),
      receiptNumber: str(inv.number),
      paidAt,
      createdAt: paidAt,
      updatedAt: t,
    })
    .onConflictDoNothing();
  await publish(deps, {
    id: `payment.succeeded:${id}`,
    type: "payment.succeeded",
    data: {
      payment_id: id,
      user_id: userId,
      merchant_id: null,
      amount: inv.amount_paid,
      currency: inv.currency,
    },
    source: "payments",
    occurred_at: paidAt,
  });
}

/** invoice.paid (renewals) and invoice.payment_failed: re-sync the subscription from Stripe. */
export const onInvoice: EventHandler = async (deps, event) => {
  const inv = event.data.object as Stripe.Invoice;
  const subId = subscriptionIdOf(inv);
  if (!subId) return ignored("invoice without a subscription");
  const ourSubscriptionId = ourSubscriptionIdOf(inv);
  const row = await subscriptionRow(deps, subId, ourSubscriptionId);
  // Parked only when the subscription is ours (our id in its metadata, which Stripe copies to
  // the invoice): another integration's invoices are ignored instead of re-parked forever.
  if (!row) return ourSubscriptionId ? deferred(subId) : ignored("invoice for a subscription not ours");
  const sub = await currentSubscription(deps, { id: subId } as Stripe.Subscription);
  if (sub.items) {
    const synced = await syncFromStripe(deps, row, sub, event.id);
    await settleChange(deps, synced);
    await followDunning(deps, synced, sub);
  }
  if (event.type === "invoice.paid") await recordInvoicePayment(deps, inv, row.userId, row.planId);
  return processed;
};
