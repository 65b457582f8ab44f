import { TEST_CARDS } from "../cards";
import type { ApiContext, Route } from "../context";
import { route } from "../context";
import { noSuch, notAttached, StripeError } from "../errors";
import { type PaymentMethod, paymentMethod } from "../objects-payments";
import { allowOnly, requiredStr } from "../params";
import type { Store } from "../store";
import { getCustomer } from "./customers";

/**
 * A magic test id (`pm_card_visa`) mints a fresh `pm_…` object, as Stripe does;
 * an id minted earlier is reused. For one-off PaymentIntents no attachment is needed.
 */
export function resolvePaymentMethod(store: Store, id: string, customerId: string | null): PaymentMethod {
  const card = TEST_CARDS[id];
  if (card) return store.put(paymentMethod(card, customerId));
  const found = store.get<PaymentMethod>(id);
  if (found?.object !== "payment_method") throw noSuch("PaymentMethod", id, "payment_method");
  return found;
}

/**
 * A customer's default (subscription `default_payment_method`, customer
 * `invoice_settings.default_payment_method`) must be a PaymentMethod attached to that
 * customer; Stripe answers anything else, test ids like `pm_card_visa` included, with this.
 */
export function attachedPaymentMethod(
  store: Store,
  id: string,
  customerId: string,
  param: string,
): PaymentMethod {
  const found = store.get<PaymentMethod>(id);
  if (found?.object !== "payment_method" || found.customer !== customerId) throw notAttached(id, param);
  return found;
}

/** POST /v1/payment_methods/:id/attach — one PaymentMethod object per attach of a test id. */
function attach({ store, events, params, ids }: ApiContext): PaymentMethod {
  allowOnly(params, ["customer"]);
  const customerId = requiredStr(params, "customer");
  getCustomer(store, customerId, "customer");
  const id = ids[0] ?? "";
  const card = TEST_CARDS[id];
  const before = card ? null : store.get<PaymentMethod>(id);
  if (!card && before?.object !== "payment_method") throw noSuch("PaymentMethod", id);
  if (before?.customer && before.customer !== customerId) {
    throw new StripeError({
      status: 400,
      type: "invalid_request_error",
      message:
        "The payment method you provided has already been attached to a customer. To use it with another customer, detach it first.",
    });
  }
  if (before?.customer === customerId) return before;
  const attached = store.put(
    card ? paymentMethod(card, customerId) : { ...(before as PaymentMethod), customer: customerId },
  );
  events.emit("payment_method.attached", attached);
  return attached;
}

export const paymentMethodRoutes: Route[] = [
  route("GET", "/v1/payment_methods/:id", ({ store, ids }) => {
    const id = ids[0] ?? "";
    const found = store.get<PaymentMethod>(id);
    if (found?.object !== "payment_method") throw noSuch("PaymentMethod", id);
    return found;
  }),
  route("POST", "/v1/payment_methods/:id/attach", attach),
];
