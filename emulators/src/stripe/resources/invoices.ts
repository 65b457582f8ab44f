import { chargeMethod } from "../billing";
import type { ApiContext, Route } from "../context";
import { route } from "../context";
import { noSuch, StripeError } from "../errors";
import { changed } from "../events";
import { nowSeconds } from "../ids";
import type { Customer } from "../objects-payments";
import type { Invoice, Subscription } from "../objects-subscriptions";
import { allowOnly, bool, str } from "../params";
import type { Store } from "../store";
import { attachedPaymentMethod } from "./payment-methods";

/**
 * Invoices: retrieve and pay (POST /v1/invoices/:id/pay). Only what dunning needs: paying an
 * open invoice out of Stripe's retry schedule, with a given PaymentMethod or the defaults.
 */

export function getInvoice(store: Store, id: string): Invoice {
  const found = store.get<Invoice>(id);
  if (found?.object !== "invoice") throw noSuch("invoice", id);
  return found;
}

/** Stripe's retry order (smart-retries docs): the subscription's default, then the customer's. */
function defaultMethod(store: Store, inv: Invoice, sub: Subscription | null): string | null {
  const cust = store.get<Customer>(String(inv.customer));
  const settings = cust?.invoice_settings as { default_payment_method?: string | null } | undefined;
  return sub?.default_payment_method ?? settings?.default_payment_method ?? null;
}

const subscriptionOf = (store: Store, inv: Invoice): Subscription | null => {
  const parent = inv.parent as { subscription_details?: { subscription?: string } } | null;
  const id = parent?.subscription_details?.subscription;
  return id ? store.get<Subscription>(id) : null;
};

/**
 * A paid invoice cannot be paid again (400, "Invoice is already paid"); a void one neither.
 * A payment_method must belong to the invoice's customer (Stripe's InvoicePayParams). A decline
 * counts an attempt, emits invoice.payment_failed and answers 402 like any card error; a
 * success marks it paid (invoice.paid) and returns the subscription it billed to active.
 */
function pay({ store, events, params, ids }: ApiContext): Invoice {
  allowOnly(params, ["payment_method", "off_session", "forgive", "paid_out_of_band", "source", "mandate"]);
  const before = getInvoice(store, ids[0] ?? "");
  if (before.status === "paid")
    throw new StripeError({ status: 400, type: "invalid_request_error", message: "Invoice is already paid" });
  if (before.status !== "open")
    throw new StripeError({
      status: 400,
      type: "invalid_request_error",
      message: `You can only pay an open invoice. This invoice is ${before.status}.`,
    });
  const sub = subscriptionOf(store, before);
  const now = nowSeconds();
  const attempt = { attempted: true, attempt_count: Number(before.attempt_count ?? 0) + 1 };
  const outOfBand = bool(params, "paid_out_of_band") === true;
  const pmParam = str(params, "payment_method");
  const pmId = pmParam
    ? attachedPaymentMethod(store, pmParam, String(before.customer), "payment_method").id
    : defaultMethod(store, before, sub);
  const outcome = outOfBand ? ({ paid: true } as const) : chargeMethod({ store, events }, pmId);
  if (!outcome.paid) {
    const failed = store.put({ ...before, ...attempt });
    events.emit("invoice.payment_failed", failed, changed(before, failed));
    throw new StripeError({
      status: 402,
      type: "card_error",
      code: outcome.code ?? "card_declined",
      ...(outcome.code === "authentication_required" ? {} : { declineCode: outcome.reason }),
      message: outcome.message ?? "Your card was declined.",
    });
  }
  const paid: Invoice = store.put({
    ...before,
    ...attempt,
    status: "paid",
    amount_paid: before.amount_due,
    amount_remaining: 0,
    auto_advance: false,
    next_payment_attempt: null,
    status_transitions: { ...(before.status_transitions as object), paid_at: now },
  });
  events.emit("invoice.paid", paid, changed(before, paid));
  if (sub && sub.status === "past_due" && sub.latest_invoice === paid.id) {
    const active = store.put({ ...sub, status: "active" });
    events.emit("customer.subscription.updated", active, changed(sub, active));
  }
  return paid;
}

export const invoiceRoutes: Route[] = [
  route("GET", "/v1/invoices/:id", ({ store, ids }) => getInvoice(store, ids[0] ?? "")),
  route("POST", "/v1/invoices/:id/pay", pay),
];
