import type { ApiContext } from "./context";
import { invalidParam, unexpectedState } from "./errors";
import { changed } from "./events";
import type { Charge, Refund } from "./objects-charges";
import type { PaymentIntent, PaymentMethod } from "./objects-payments";
import { getCharge } from "./resources/charges";
import { recordDecline, succeed } from "./resources/confirm";
import { getIntent } from "./resources/payment-intents";
import { resolvePaymentMethod } from "./resources/payment-methods";
import { getRefund } from "./resources/refunds";

/** Asynchronous outcomes Stripe reports later (delayed settlement, refunds bouncing), driven by tests. */

type Ctx = Pick<ApiContext, "store" | "events">;

/** Confirms into `processing` (as a delayed-settlement method would) and emits payment_intent.processing. */
export function startProcessing(c: Ctx, id: string, paymentMethod: string | undefined): PaymentIntent {
  const pi = getIntent(c.store, id);
  if (!["requires_payment_method", "requires_confirmation", "requires_action"].includes(pi.status)) {
    throw unexpectedState(`PaymentIntent ${id} has status ${pi.status}; it cannot start processing.`);
  }
  const pmId = paymentMethod ?? pi.payment_method ?? "pm_card_visa";
  const pm = resolvePaymentMethod(c.store, pmId, pi.customer);
  const after: PaymentIntent = {
    ...pi,
    status: "processing",
    payment_method: pm.id,
    next_action: null,
    last_payment_error: null,
  };
  c.store.put(after);
  c.events.emit("payment_intent.processing", after, changed(pi, after));
  return after;
}

/** Ends `processing`: succeeded (charge.succeeded + payment_intent.succeeded) or failed (payment_intent.payment_failed). */
export function settleProcessing(c: Ctx, id: string, outcome: string): PaymentIntent {
  const pi = getIntent(c.store, id);
  if (pi.status !== "processing")
    throw unexpectedState(`PaymentIntent ${id} has status ${pi.status}, not processing.`);
  const pm = pi.payment_method ? c.store.get<PaymentMethod>(pi.payment_method) : null;
  if (!pm) throw invalidParam("payment_method", "The processing intent has no payment method.");
  if (outcome === "succeeded") return succeed(c, pi, pm);
  if (outcome !== "failed") throw invalidParam("outcome", "outcome must be succeeded or failed");
  return recordDecline(c, pi, pm, {
    code: "card_declined",
    declineCode: "generic_decline",
    message: "Your card was declined.",
  }).after;
}

/** A refund that bounces after succeeding: refund.updated (status failed) + refund.failed, charge restored. */
export function failRefund(c: Ctx, id: string): Refund {
  const before = getRefund(c.store, id);
  if (before.status === "failed") throw invalidParam("refund", `Refund ${id} has already failed.`);
  const after: Refund = {
    ...before,
    status: "failed",
    failure_reason: "expired_or_canceled_card",
    failure_balance_transaction: null,
  };
  c.store.put(after);
  const ch = getCharge(c.store, before.charge, "charge");
  const restored: Charge = {
    ...ch,
    amount_refunded: ch.amount_refunded - before.amount,
    refunded: false,
  };
  c.store.put(restored);
  c.events.emit("refund.updated", after, changed(before, after));
  c.events.emit("refund.failed", after, changed(before, after));
  return after;
}

/** A pending refund (pm_card_pendingRefund) settles: status succeeded, refund.updated. */
export function settleRefund(c: Ctx, id: string): Refund {
  const before = getRefund(c.store, id);
  if (before.status !== "pending")
    throw invalidParam("refund", `Refund ${id} has status ${before.status}, not pending.`);
  const after: Refund = { ...before, status: "succeeded" };
  c.store.put(after);
  c.events.emit("refund.updated", after, changed(before, after));
  return after;
}
