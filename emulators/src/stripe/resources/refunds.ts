import { cardByFingerprint } from "../cards";
import type { ApiContext, Route } from "../context";
import { route } from "../context";
import { invalidParam, noSuch, StripeError } from "../errors";
import { changed } from "../events";
import { type Charge, type Refund, refund } from "../objects-charges";
import { balanceTransaction, type PaymentMethod } from "../objects-payments";
import { allowOnly, applyMetadata, int, oneOf, str } from "../params";
import type { Store } from "../store";
import { getCharge } from "./charges";
import { getIntent } from "./payment-intents";
import { refundListRoutes } from "./refund-list";

const ZERO_DECIMAL = [
  "jpy",
  "krw",
  "vnd",
  "clp",
  "xof",
  "xaf",
  "ugx",
  "pyg",
  "rwf",
  "mga",
  "kmf",
  "gnf",
  "djf",
  "bif",
  "vuv",
  "xpf",
];

/** Stripe's wording shows amounts in major units: `$15.00`. */
function money(amount: number, currency: string): string {
  if (ZERO_DECIMAL.includes(currency)) return `${amount} ${currency.toUpperCase()}`;
  return currency === "usd"
    ? `$${(amount / 100).toFixed(2)}`
    : `${(amount / 100).toFixed(2)} ${currency.toUpperCase()}`;
}

/** Stripe's refusals for a charge that cannot take a refund (any amount), in its wording. */
function refuseUnrefundable(ch: Charge): void {
  const refusal = (code: string, message: string) =>
    new StripeError({ status: 400, type: "invalid_request_error", code, message });
  if (ch.refunded) throw refusal("charge_already_refunded", `Charge ${ch.id} has already been refunded.`);
  // A charged-back charge cannot be refunded (`charge_disputed`): the dispute returns the money.
  if (ch.disputed) throw refusal("charge_disputed", `Charge ${ch.id} has been charged back.`);
  if (ch.status !== "succeeded") {
    throw refusal("charge_not_refundable", `Charge ${ch.id} has not succeeded and cannot be refunded.`);
  }
}

/** A charge paid with a refund test card whose refunds settle later (cards.ts). */
function refundStartsPending(store: Store, ch: Charge): boolean {
  const pmId = typeof ch.payment_method === "string" ? ch.payment_method : null;
  const pm = pmId ? store.get<PaymentMethod>(pmId) : null;
  return cardByFingerprint(pm?.card.fingerprint)?.refund === "pending";
}

export function getRefund(store: Store, id: string): Refund {
  const found = store.get<Refund>(id);
  if (found?.object !== "refund") throw noSuch("refund", id);
  return found;
}

function chargeFor(c: ApiContext): Charge {
  const piId = str(c.params, "payment_intent");
  const chId = str(c.params, "charge");
  if (!piId && !chId) {
    throw new StripeError({
      status: 400,
      type: "invalid_request_error",
      code: "parameter_missing",
      message: "One of the following params should be provided for this request: payment_intent or charge.",
    });
  }
  if (chId) return getCharge(c.store, chId, "charge");
  const pi = getIntent(c.store, piId ?? "", "payment_intent");
  if (pi.status !== "succeeded" || !pi.latest_charge) {
    throw new StripeError({
      status: 400,
      type: "invalid_request_error",
      code: "charge_not_refundable",
      param: "payment_intent",
      message: `This PaymentIntent (${pi.id}) does not have a successful charge to refund.`,
    });
  }
  return getCharge(c.store, pi.latest_charge, "payment_intent");
}

export const refundRoutes: Route[] = [
  route("POST", "/v1/refunds", (c) => {
    allowOnly(c.params, [
      "payment_intent",
      "charge",
      "amount",
      "reason",
      "metadata",
      "instructions_email",
      "refund_application_fee",
      "reverse_transfer",
    ]);
    const ch = chargeFor(c);
    const amount = int(c.params, "amount");
    const reason = oneOf(c.params, "reason", ["duplicate", "fraudulent", "requested_by_customer"]) ?? null;
    const metadata = applyMetadata({}, c.params);
    refuseUnrefundable(ch);
    const remaining = ch.amount - ch.amount_refunded;
    if (amount !== undefined && amount <= 0)
      throw invalidParam("amount", "Invalid positive integer", "parameter_invalid_integer");
    if (amount !== undefined && amount > remaining) {
      const wording = ch.amount_refunded === 0 ? "charge amount" : "unrefunded amount on charge";
      throw new StripeError({
        status: 400,
        type: "invalid_request_error",
        code: "amount_too_large",
        param: "amount",
        message: `Refund amount (${money(amount, ch.currency)}) is greater than ${wording} (${money(remaining, ch.currency)})`,
      });
    }
    const value = amount ?? remaining;
    const txn = c.store.put(
      balanceTransaction({
        amount: -value,
        currency: ch.currency,
        source: "",
        type: "refund",
        description: "REFUND FOR CHARGE",
      }),
    );
    const re = c.store.put(
      refund({
        charge: ch,
        amount: value,
        reason,
        metadata,
        balanceTransaction: txn.id,
        status: refundStartsPending(c.store, ch) ? "pending" : "succeeded",
      }),
    );
    c.store.put({ ...txn, source: re.id });
    const after: Charge = {
      ...ch,
      amount_refunded: ch.amount_refunded + value,
      refunded: ch.amount_refunded + value === ch.amount,
    };
    c.store.put(after);
    c.events.emit("refund.created", re);
    c.events.emit("charge.refunded", after, changed(ch, after));
    return re;
  }),
  ...refundListRoutes,
  route("GET", "/v1/refunds/:id", ({ store, ids }) => getRefund(store, ids[0] ?? "")),
  route("POST", "/v1/refunds/:id", ({ store, events, params, ids }) => {
    allowOnly(params, ["metadata"]);
    const before = getRefund(store, ids[0] ?? "");
    const after: Refund = { ...before, metadata: applyMetadata(before.metadata, params) };
    store.put(after);
    events.emit("refund.updated", after, changed(before, after));
    return after;
  }),
];
