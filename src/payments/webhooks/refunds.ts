import type Stripe from "stripe";
import { applyRefund, listStripeRefunds } from "../refund-sync";
import { isMissing, mapStripeError } from "../stripe-errors";
import { ref } from "../stripe-objects";
import { paymentForIntent } from "./payment-intents";
import { deferred, type EventHandler, ignored, processed } from "./types";

/**
 * charge.refunded: every refund on the charge, read from Stripe. Since API 2022-11-15 the
 * Charge carries no `refunds` list unless expanded, so this is a `refunds.list` call; a list
 * that is present and complete (an older endpoint version) is a fresh read too.
 */
export const onChargeRefunded: EventHandler = async (deps, event) => {
  const charge = event.data.object as Stripe.Charge;
  const piId = ref(charge.payment_intent);
  if (!piId) return ignored("charge without a payment intent");
  const payment = await paymentForIntent(deps, piId, charge.metadata?.payment_id);
  if (!payment) return charge.metadata?.payment_id ? deferred(piId) : ignored("charge not ours");
  const listed = charge.refunds?.data;
  const all = listed && !charge.refunds?.has_more ? listed : await listStripeRefunds(deps, piId);
  for (const r of all) await applyRefund(deps, payment, r);
  return processed;
};

/**
 * refund.created / refund.updated / refund.failed. The event only says "this refund changed":
 * the refund is re-read from Stripe (like payment_intent.*), and its status moves forward only,
 * so a stale `refund.updated(succeeded)` delivered after `refund.failed` changes nothing.
 */
export const onRefund: EventHandler = async (deps, event) => {
  const r = event.data.object as Stripe.Refund;
  const piId = ref(r.payment_intent);
  if (!piId) return ignored("refund without a payment intent");
  const payment = await paymentForIntent(deps, piId, r.metadata?.payment_id);
  if (!payment) return r.metadata?.payment_id ? deferred(piId) : ignored("refund not ours");
  let current: Stripe.Refund = r;
  try {
    current = await deps.stripe.refunds.retrieve(r.id);
  } catch (err) {
    if (!isMissing(err)) throw mapStripeError(err, "refund retrieve");
  }
  await applyRefund(deps, payment, current);
  return processed;
};
