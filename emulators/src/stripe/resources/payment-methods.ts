import { TEST_CARDS } from "../cards";
import type { ApiContext, Route } from "../context";
import { route } from "../context";
import { noSuch, notAttached, StripeError } from "../errors";
import { type PaymentMethod, paymentMethod } from "../objects-payments";
import { allowOnly, requiredStr } from "../params";
import type { Store } from "../store";
import { getCustomer } from "./customers";

/**
 * The PaymentMethod a PaymentIntent for `customerId` (or none) may use. A magic test id
 * (`pm_card_visa`) mints a fresh, unattached `pm_…` object, as Stripe does: confirming does
 * not attach it (only `setup_future_usage` does, see `settlePaymentMethod`). An existing one
 * is refused, as on Stripe, when it belongs to another customer (or to one while the intent
 * names none), or when it was already used once without being attached (it is single-use).
 */
export function resolvePaymentMethod(store: Store, id: string, customerId: string | null): PaymentMethod {
  const card = TEST_CARDS[id];
  if (card) return store.put(paymentMethod(card, null));
  const found = store.get<PaymentMethod>(id);
  if (found?.object !== "payment_method") throw noSuch("PaymentMethod", id, "payment_method");
  const owner = typeof found.customer === "string" ? found.customer : null;
  if (owner && owner !== customerId) throw belongsToCustomer(id, owner, customerId);
  if (!owner && store.get(usedMarker(id))) throw singleUseSpent();
  return found;
}

/**
 * After a successful charge: with `setup_future_usage` and a customer the method is attached
 * to that customer; an unattached method used without it is spent and may not be used again.
 */
export function settlePaymentMethod(
  c: Pick<ApiContext, "store" | "events">,
  pm: PaymentMethod,
  pi: { customer: string | null; setup_future_usage: string | null },
): void {
  if (pm.customer) return;
  if (pi.setup_future_usage && pi.customer) {
    c.events.emit("payment_method.attached", c.store.put({ ...pm, customer: pi.customer }));
  } else {
    c.store.put({ id: usedMarker(pm.id), object: "emulator_spent_payment_method" });
  }
}

/** A row beside the PaymentMethod (not a field of it, which would leak into API answers). */
const usedMarker = (pmId: string) => `spent:${pmId}`;

const belongsToCustomer = (pmId: string, owner: string, customerId: string | null) =>
  new StripeError({
    status: 400,
    type: "invalid_request_error",
    param: "payment_method",
    message: customerId
      ? `The provided PaymentMethod ${pmId} belongs to the Customer ${owner}, not to ${customerId}. A PaymentMethod attached to a Customer can only be used with that Customer.`
      : `The \`payment_method\` parameter supplied ${pmId} belongs to the Customer ${owner}. Please include the Customer in the \`customer\` parameter on the PaymentIntent.`,
  });

const singleUseSpent = () =>
  new StripeError({
    status: 400,
    type: "invalid_request_error",
    param: "payment_method",
    message:
      "The provided PaymentMethod was previously used with a PaymentIntent without Customer attachment, shared with a connected account without Customer attachment, or was detached from a Customer. It may not be used again. To use a PaymentMethod multiple times, you must attach it to a Customer first.",
  });

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
  // A method used once without a customer is spent: Stripe refuses to attach it afterwards.
  if (before && store.get(usedMarker(id))) throw singleUseSpent();
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
