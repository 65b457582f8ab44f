import { attemptPayment, issueInvoice } from "../billing";
import type { ApiContext, Route } from "../context";
import { route } from "../context";
import { invalidParam, missingParam, noSuch, StripeError, subscriptionCardDeclined } from "../errors";
import { changed } from "../events";
import type { Params } from "../form";
import { newId, nowSeconds } from "../ids";
import { addInterval, subscriptionItem } from "../objects-billing";
import { type Subscription, subscription } from "../objects-subscriptions";
import { allowOnly, applyMetadata, bool, int, list, nullableStr, oneOf, requiredStr, str } from "../params";
import { changeItemPrice, PRORATION_BEHAVIORS } from "../proration";
import type { Store, StripeObject } from "../store";
import { getCustomer } from "./customers";
import { attachedPaymentMethod } from "./payment-methods";
import { activePrice, page } from "./prices";

const CREATE_FIELDS = [
  "customer",
  "items",
  "default_payment_method",
  "metadata",
  "payment_behavior",
  "proration_behavior",
  "collection_method",
  "description",
  "off_session",
  "payment_settings",
  "trial_period_days",
  "cancel_at_period_end",
];
const UPDATE_FIELDS = [
  "cancel_at_period_end",
  "items",
  "metadata",
  "default_payment_method",
  "proration_behavior",
  "payment_behavior",
  "description",
  "cancellation_details",
  "off_session",
];

/**
 * payment_behavior on an update: `pending_if_incomplete` (pending updates) is not modelled, so
 * it is refused rather than silently treated as another behaviour.
 */
function updatePaymentBehavior(params: Params) {
  const v = oneOf(params, "payment_behavior", [
    "allow_incomplete",
    "default_incomplete",
    "error_if_incomplete",
    "pending_if_incomplete",
  ]);
  if (v === "pending_if_incomplete")
    throw invalidParam(
      "payment_behavior",
      "The emulator does not model pending updates (pending_if_incomplete).",
    );
  return v ?? "allow_incomplete";
}

export function getSubscription(store: Store, id: string): Subscription {
  const found = store.get<Subscription>(id);
  if (found?.object !== "subscription") throw noSuch("subscription", id);
  return found;
}

function firstItem(params: Params): { id?: string; price?: string; quantity: number } | undefined {
  const items = list(params, "items");
  if (!items) return undefined;
  const raw = items[0];
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw invalidParam("items[0]", "Invalid object", "parameter_invalid_object");
  if (items.length > 1)
    throw invalidParam(
      "items",
      "The emulator supports one item per subscription.",
      "parameter_invalid_array",
    );
  const quantity = int(raw, "quantity") ?? 1;
  if (quantity < 1)
    throw invalidParam("items[0][quantity]", "Invalid positive integer", "parameter_invalid_integer");
  const out: { id?: string; price?: string; quantity: number } = { quantity };
  if (typeof raw.id === "string") out.id = raw.id;
  if (typeof raw.price === "string") out.price = raw.price;
  return out;
}

/**
 * Cancelling a subscription cancels the open schedule that manages it (its phases never
 * start); the schedule keeps naming the subscription. Here rather than in
 * subscription-schedules.ts, which imports this module.
 */
function cancelSchedule(c: Pick<ApiContext, "store" | "events">, id: string): void {
  const before = c.store.get<StripeObject & { status: string }>(id);
  if (before?.object !== "subscription_schedule") return;
  if (before.status !== "not_started" && before.status !== "active") return;
  const after = c.store.put({
    ...before,
    status: "canceled",
    canceled_at: nowSeconds(),
    current_phase: null,
  });
  c.events.emit("subscription_schedule.canceled", after, changed(before, after));
}

export const subscriptionRoutes: Route[] = [
  route("POST", "/v1/subscriptions", (c) => {
    const { store, events, params } = c;
    allowOnly(params, CREATE_FIELDS);
    const customerId = requiredStr(params, "customer");
    getCustomer(store, customerId, "customer");
    const spec = firstItem(params);
    if (!spec?.price) throw missingParam("items[0][price]");
    const price = activePrice(store, spec.price, "items[0][price]");
    const behavior =
      oneOf(params, "payment_behavior", [
        "allow_incomplete",
        "default_incomplete",
        "error_if_incomplete",
        "pending_if_incomplete",
      ]) ?? "allow_incomplete";
    const pmId = nullableStr(params, "default_payment_method");
    const pm = pmId ? attachedPaymentMethod(store, pmId, customerId, "default_payment_method").id : null;
    const start = nowSeconds();
    const id = newId("sub");
    const item = subscriptionItem(
      id,
      price,
      spec.quantity,
      start,
      addInterval(start, price.recurring.interval),
    );
    let sub = subscription({
      id,
      customer: customerId,
      item,
      defaultPaymentMethod: pm,
      metadata: applyMetadata({}, params),
    });
    const outcome =
      behavior === "default_incomplete"
        ? ({ paid: false, reason: "default_incomplete" } as const)
        : attemptPayment(c, sub);
    if (!outcome.paid && behavior === "error_if_incomplete") {
      throw subscriptionCardDeclined(outcome.reason);
    }
    sub = { ...sub, status: outcome.paid ? "active" : "incomplete" };
    store.put(sub);
    events.emit("customer.subscription.created", sub);
    const inv = issueInvoice(c, sub, item, "subscription_create", outcome.paid);
    return store.put({ ...sub, latest_invoice: inv.id });
  }),
  route("GET", "/v1/subscriptions", ({ store, params }) => {
    allowOnly(params, ["customer", "status", "price", "limit", "starting_after"]);
    const customer = str(params, "customer");
    const status = str(params, "status");
    const priceId = str(params, "price");
    // Stripe lists every status but canceled unless `status` says otherwise (`all` for everything).
    const items = store
      .all<Subscription>("subscription")
      .filter(
        (s) =>
          (customer === undefined || s.customer === customer) &&
          (status === "all" || (status === undefined ? s.status !== "canceled" : s.status === status)) &&
          (priceId === undefined || s.items.data[0]?.price.id === priceId),
      );
    return page(items, params, "/v1/subscriptions");
  }),
  route("GET", "/v1/subscriptions/:id", ({ store, ids }) => getSubscription(store, ids[0] ?? "")),
  route("POST", "/v1/subscriptions/:id", (c) => {
    const { store, events, params, ids } = c;
    allowOnly(params, UPDATE_FIELDS);
    const before = getSubscription(store, ids[0] ?? "");
    const onlyNotes = Object.keys(params).every(
      (k) => k === "metadata" || k === "cancellation_details" || k === "expand",
    );
    if (before.status === "canceled" && !onlyNotes) {
      throw new StripeError({
        status: 400,
        type: "invalid_request_error",
        message: "A canceled subscription can only update its cancellation_details and metadata.",
      });
    }
    const after: Subscription = { ...before, metadata: applyMetadata(before.metadata, params) };
    const cancelAtEnd = bool(params, "cancel_at_period_end");
    // Stripe: a schedule owns the subscription's end; its cancellation is set on the schedule.
    if (cancelAtEnd !== undefined && typeof before.schedule === "string") {
      throw new StripeError({
        status: 400,
        type: "invalid_request_error",
        message: `The subscription is managed by the subscription schedule \`${before.schedule}\`, and updating any cancelation behavior directly is not allowed. Please update the schedule instead.`,
      });
    }
    if (cancelAtEnd !== undefined) {
      after.cancel_at_period_end = cancelAtEnd;
      after.cancel_at = cancelAtEnd ? (before.items.data[0]?.current_period_end ?? null) : null;
      after.canceled_at = cancelAtEnd ? nowSeconds() : null;
      after.cancellation_details = {
        comment: null,
        feedback: null,
        reason: cancelAtEnd ? "cancellation_requested" : null,
      };
    }
    const pmId = nullableStr(params, "default_payment_method");
    if (pmId !== undefined)
      after.default_payment_method = pmId
        ? attachedPaymentMethod(store, pmId, before.customer, "default_payment_method").id
        : null;
    const proration = oneOf(params, "proration_behavior", PRORATION_BEHAVIORS) ?? "create_prorations";
    const paymentBehavior = updatePaymentBehavior(params);
    const spec = firstItem(params);
    if (spec) {
      const current = before.items.data[0];
      if (!current) throw noSuch("subscription_item", spec.id ?? "");
      if (spec.id && spec.id !== current.id) throw noSuch("subscription_item", spec.id, "items[0][id]");
      const price = spec.price ? activePrice(store, spec.price, "items[0][price]") : current.price;
      if (price.currency !== current.price.currency)
        throw invalidParam("items[0][price]", "The price's currency must match the subscription's currency.");
      const moved = changeItemPrice(
        c,
        { ...after, items: before.items },
        current,
        { price, quantity: spec.quantity },
        proration,
        paymentBehavior === "error_if_incomplete",
      );
      Object.assign(after, moved);
    }
    store.put(after);
    const prev = changed(before, after);
    if (Object.keys(prev).length > 0) events.emit("customer.subscription.updated", after, prev);
    return after;
  }),
  route("DELETE", "/v1/subscriptions/:id", ({ store, events, ids }) => {
    const before = getSubscription(store, ids[0] ?? "");
    if (before.status === "canceled") {
      throw new StripeError({
        status: 400,
        type: "invalid_request_error",
        code: "resource_missing",
        message: `No such subscription: '${before.id}' (it is already canceled)`,
      });
    }
    const now = nowSeconds();
    const after: Subscription = {
      ...before,
      status: "canceled",
      canceled_at: now,
      ended_at: now,
      cancel_at: null,
      cancellation_details: { comment: null, feedback: null, reason: "cancellation_requested" },
    };
    store.put(after);
    // Cancelling the subscription cancels the schedule that manages it (its phases never start).
    if (typeof before.schedule === "string") cancelSchedule({ store, events }, before.schedule);
    events.emit("customer.subscription.deleted", after, changed(before, after));
    return after;
  }),
];
