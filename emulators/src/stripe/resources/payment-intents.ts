import type { Route } from "../context";
import { route } from "../context";
import { checkChargeAmount } from "../currencies";
import { invalidParam, noSuch, unexpectedState } from "../errors";
import { changed } from "../events";
import type { Params } from "../form";
import { nowSeconds } from "../ids";
import { type PaymentIntent, paymentIntent } from "../objects-payments";
import { allowOnly, applyMetadata, bool, int, nullableStr, obj, oneOf, requiredStr, str } from "../params";
import type { Store } from "../store";
import { confirmIntent } from "./confirm";
import { getCustomer } from "./customers";
import { resolvePaymentMethod } from "./payment-methods";

// Accepted so real SDK calls are not rejected; the emulator ignores what it does not model.
const CREATE_FIELDS = [
  "amount",
  "currency",
  "customer",
  "description",
  "metadata",
  "payment_method",
  "confirm",
  "automatic_payment_methods",
  "receipt_email",
  "payment_method_types",
  "capture_method",
  "confirmation_method",
  "setup_future_usage",
  "statement_descriptor",
  "statement_descriptor_suffix",
  "return_url",
  "off_session",
  "error_on_requires_action",
  "use_stripe_sdk",
  "shipping",
  "transfer_group",
  "payment_method_options",
  "mandate_data",
];
const CONFIRM_FIELDS = [
  "payment_method",
  "return_url",
  "off_session",
  "receipt_email",
  "setup_future_usage",
  "use_stripe_sdk",
  "payment_method_options",
  "mandate_data",
  "error_on_requires_action",
];
const UPDATE_FIELDS = [
  "amount",
  "currency",
  "customer",
  "description",
  "metadata",
  "receipt_email",
  "payment_method",
  "setup_future_usage",
  "statement_descriptor",
  "shipping",
];
const CANCELABLE = [
  "requires_payment_method",
  "requires_capture",
  "requires_confirmation",
  "requires_action",
  "processing",
];
export const CURRENCIES = [
  "usd",
  "eur",
  "gbp",
  "jpy",
  "cad",
  "aud",
  "chf",
  "sek",
  "nok",
  "dkk",
  "nzd",
  "sgd",
  "hkd",
  "inr",
  "brl",
  "mxn",
  "pln",
  "czk",
  "krw",
  "huf",
  "zar",
  "aed",
  "ils",
  "try",
  "bhd",
  "jod",
  "kwd",
  "omr",
  "tnd",
];

export function getIntent(store: Store, id: string, param = "intent"): PaymentIntent {
  const found = store.get<PaymentIntent>(id);
  if (found?.object !== "payment_intent") throw noSuch("payment_intent", id, param);
  return found;
}

function amountOf(params: Parameters<typeof int>[0]): number {
  const amount = int(params, "amount");
  if (amount === undefined)
    throw invalidParam("amount", "Missing required param: amount.", "parameter_missing");
  return amount;
}

function currencyOf(value: string): string {
  const currency = value.toLowerCase();
  if (!CURRENCIES.includes(currency)) {
    throw invalidParam(
      "currency",
      `Invalid currency: ${value}. Stripe currently supports these currencies: ${CURRENCIES.join(", ")}`,
      "parameter_invalid_string",
    );
  }
  return currency;
}

/** `setup_future_usage`: on_session or off_session; an empty string clears it. */
function futureUsageOf(params: Params): string | null | undefined {
  if (params.setup_future_usage === "") return null;
  return oneOf(params, "setup_future_usage", ["on_session", "off_session"]);
}

export const paymentIntentRoutes: Route[] = [
  route("POST", "/v1/payment_intents", (c) => {
    const { store, events, params } = c;
    allowOnly(params, CREATE_FIELDS);
    const amount = amountOf(params);
    const currency = currencyOf(requiredStr(params, "currency"));
    checkChargeAmount(amount, currency);
    const customerId = nullableStr(params, "customer") ?? null;
    if (customerId) getCustomer(store, customerId, "customer");
    const automatic = obj(params, "automatic_payment_methods");
    const pi = paymentIntent({
      amount,
      currency,
      customer: customerId,
      description: nullableStr(params, "description") ?? null,
      metadata: applyMetadata({}, params),
      receiptEmail: nullableStr(params, "receipt_email") ?? null,
      automatic: automatic ? automatic.enabled === "true" : !params.payment_method_types,
    });
    pi.setup_future_usage = futureUsageOf(params) ?? null;
    const pmId = str(params, "payment_method");
    if (pmId) {
      pi.payment_method = resolvePaymentMethod(store, pmId, customerId).id;
      pi.status = "requires_confirmation";
    }
    const confirm = bool(params, "confirm");
    const offSession = bool(params, "off_session");
    store.put(pi);
    events.emit("payment_intent.created", pi);
    return confirm ? confirmIntent(c, pi, { offSession }) : pi;
  }),
  route("GET", "/v1/payment_intents/:id", ({ store, ids }) => getIntent(store, ids[0] ?? "")),
  route("POST", "/v1/payment_intents/:id", ({ store, params, ids }) => {
    allowOnly(params, UPDATE_FIELDS);
    const pi = getIntent(store, ids[0] ?? "");
    if (pi.status === "succeeded" || pi.status === "canceled") {
      const touchesMoney =
        params.amount !== undefined || params.currency !== undefined || params.payment_method !== undefined;
      if (touchesMoney)
        throw unexpectedState(
          `You cannot update this PaymentIntent because it has a status of ${pi.status}.`,
        );
    }
    const after: PaymentIntent = { ...pi, metadata: applyMetadata(pi.metadata, params) };
    if (params.amount !== undefined) after.amount = amountOf(params);
    const currency = str(params, "currency");
    if (currency) after.currency = currencyOf(currency);
    if (params.amount !== undefined || currency) checkChargeAmount(after.amount, after.currency);
    for (const key of ["description", "receipt_email", "customer"] as const) {
      const v = nullableStr(params, key);
      if (v !== undefined) after[key] = v;
    }
    const usage = futureUsageOf(params);
    if (usage !== undefined) after.setup_future_usage = usage;
    return store.put(after);
  }),
  route("POST", "/v1/payment_intents/:id/confirm", (c) => {
    allowOnly(c.params, CONFIRM_FIELDS);
    const pi = getIntent(c.store, c.ids[0] ?? "");
    const receipt = nullableStr(c.params, "receipt_email");
    const usage = futureUsageOf(c.params);
    const current =
      receipt !== undefined || usage !== undefined
        ? c.store.put({
            ...pi,
            ...(receipt !== undefined ? { receipt_email: receipt } : {}),
            ...(usage !== undefined ? { setup_future_usage: usage } : {}),
          })
        : pi;
    return confirmIntent(c, current, {
      paymentMethod: str(c.params, "payment_method"),
      offSession: bool(c.params, "off_session"),
    });
  }),
  route("POST", "/v1/payment_intents/:id/cancel", ({ store, events, params, ids }) => {
    allowOnly(params, ["cancellation_reason"]);
    const reason = oneOf(params, "cancellation_reason", [
      "duplicate",
      "fraudulent",
      "requested_by_customer",
      "abandoned",
    ]);
    const pi = getIntent(store, ids[0] ?? "");
    if (!CANCELABLE.includes(pi.status)) {
      throw unexpectedState(
        `You cannot cancel this PaymentIntent because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be canceled: ${CANCELABLE.join(", ")}.`,
        { payment_intent: pi },
      );
    }
    const after: PaymentIntent = {
      ...pi,
      status: "canceled",
      canceled_at: nowSeconds(),
      cancellation_reason: reason ?? null,
      next_action: null,
    };
    store.put(after);
    events.emit("payment_intent.canceled", after, changed(pi, after));
    return after;
  }),
];
