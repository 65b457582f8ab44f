import { TEST_CARDS } from "../cards";
import type { Route } from "../context";
import { route } from "../context";
import { noSuch } from "../errors";
import { type PaymentMethod, paymentMethod } from "../objects-payments";
import type { Store } from "../store";

/**
 * A magic test id (`pm_card_visa`) mints a fresh `pm_…` object, as Stripe does;
 * an id minted earlier is reused.
 */
export function resolvePaymentMethod(store: Store, id: string, customerId: string | null): PaymentMethod {
  const card = TEST_CARDS[id];
  if (card) return store.put(paymentMethod(card, customerId));
  const found = store.get<PaymentMethod>(id);
  if (found?.object !== "payment_method") throw noSuch("PaymentMethod", id, "payment_method");
  return found;
}

export const paymentMethodRoutes: Route[] = [
  route("GET", "/v1/payment_methods/:id", ({ store, ids }) => {
    const id = ids[0] ?? "";
    const found = store.get<PaymentMethod>(id);
    if (found?.object !== "payment_method") throw noSuch("PaymentMethod", id);
    return found;
  }),
];
