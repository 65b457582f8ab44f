import type { Route } from "../context";
import { route } from "../context";
import { invalidParam, noSuch, StripeError } from "../errors";
import { changed } from "../events";
import type { Params, ParamValue } from "../form";
import { newId, nowSeconds } from "../ids";
import { addInterval, type Price } from "../objects-billing";
import type { Subscription } from "../objects-subscriptions";
import { allowOnly, applyMetadata, int, list, oneOf, requiredStr, str } from "../params";
import { PRORATION_BEHAVIORS } from "../proration";
import type { Store, StripeObject } from "../store";
import { activePrice } from "./prices";
import { getSubscription } from "./subscriptions";

/**
 * Subscription schedules (docs.stripe.com/billing/subscriptions/subscription-schedules), the
 * part a plan change at period end uses: create `from_subscription` (no other parameter may be
 * set with it, and a subscription has at most one schedule), update the phases, release. The
 * phase boundaries are applied by the billing clock (`advance`, see enterPhase).
 */

type PhaseItem = {
  price: string;
  quantity: number;
  plan: string;
  metadata: Record<string, string>;
  discounts: [];
  tax_rates: [];
};
type Phase = {
  start_date: number;
  end_date: number;
  items: PhaseItem[];
  proration_behavior: string;
  [k: string]: unknown;
};
export type Schedule = StripeObject & {
  status: "not_started" | "active" | "completed" | "released" | "canceled";
  subscription: string | null;
  end_behavior: "release" | "cancel";
  phases: Phase[];
  current_phase: { start_date: number; end_date: number } | null;
};

const OPEN = ["not_started", "active"];

export function getSchedule(store: Store, id: string): Schedule {
  const found = store.get<Schedule>(id);
  if (found?.object !== "subscription_schedule") throw noSuch("subscription_schedule", id);
  return found;
}

function phase(p: { start: number; end: number; price: string; quantity: number; proration: string }): Phase {
  return {
    add_invoice_items: [],
    application_fee_percent: null,
    billing_cycle_anchor: null,
    collection_method: null,
    currency: "usd",
    default_payment_method: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    end_date: p.end,
    invoice_settings: null,
    items: [
      { discounts: [], metadata: {}, plan: p.price, price: p.price, quantity: p.quantity, tax_rates: [] },
    ],
    metadata: {},
    on_behalf_of: null,
    proration_behavior: p.proration,
    start_date: p.start,
    transfer_data: null,
    trial_end: null,
  };
}

function fromSubscription(sub: Subscription): Schedule {
  const item = sub.items.data[0];
  if (!item) throw noSuch("subscription_item", sub.id);
  const start = item.current_period_start;
  const end = item.current_period_end;
  return {
    id: newId("sub_sched"),
    object: "subscription_schedule",
    application: null,
    billing_mode: { type: "flexible", flexible: { proration_discounts: "included" } },
    canceled_at: null,
    completed_at: null,
    created: nowSeconds(),
    current_phase: { start_date: start, end_date: end },
    customer: sub.customer,
    customer_account: null,
    default_settings: {
      application_fee_percent: null,
      automatic_tax: { disabled_reason: null, enabled: false, liability: null },
      billing_cycle_anchor: "automatic",
      billing_thresholds: null,
      collection_method: "charge_automatically",
      default_payment_method: sub.default_payment_method,
      description: null,
      invoice_settings: { account_tax_ids: null, days_until_due: null, issuer: { type: "self" } },
      on_behalf_of: null,
      transfer_data: null,
    },
    end_behavior: "release",
    livemode: false,
    metadata: {},
    phases: [
      phase({ start, end, price: item.price.id, quantity: item.quantity, proration: "create_prorations" }),
    ],
    released_at: null,
    released_subscription: null,
    status: "active",
    subscription: sub.id,
    test_clock: null,
  };
}

function asParams(v: ParamValue | undefined, param: string): Params {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw invalidParam(param, "Invalid object", "parameter_invalid_object");
  return v;
}

/** Parses `phases[]`: each starts where the previous ended; `end_date` and `duration` exclude each other. */
function parsePhases(store: Store, params: Params, sched: Schedule): Phase[] {
  const raw = list(params, "phases") ?? [];
  if (raw.length === 0) throw invalidParam("phases", "phases must contain at least one phase.");
  const current = sched.current_phase;
  let start = current?.start_date ?? nowSeconds();
  return raw.map((value, i) => {
    const p = asParams(value, `phases[${i}]`);
    const given = int(p, "start_date");
    if (i === 0 && current && given !== undefined && given !== current.start_date)
      throw invalidParam(`phases[0][start_date]`, "You can not modify the start date of the current phase.");
    if (i > 0 && given !== undefined && given !== start)
      throw invalidParam(
        `phases[${i}][start_date]`,
        "The start_date of a phase must equal the end_date of the previous phase.",
      );
    const items = list(p, "items");
    if (items?.length !== 1)
      throw invalidParam(`phases[${i}][items]`, "The emulator supports exactly one item per phase.");
    const item = asParams(items[0], `phases[${i}][items][0]`);
    const price: Price = activePrice(store, requiredStr(item, "price"), `phases[${i}][items][0][price]`);
    const quantity = int(item, "quantity") ?? 1;
    const endDate = int(p, "end_date");
    const duration = p.duration === undefined ? undefined : asParams(p.duration, `phases[${i}][duration]`);
    if (endDate !== undefined && duration)
      throw invalidParam(`phases[${i}][end_date]`, "You may only specify one of end_date and duration.");
    let end: number;
    if (endDate !== undefined) end = endDate;
    else {
      const interval = duration ? oneOf(duration, "interval", ["month", "year"]) : price.recurring.interval;
      const count = duration ? (int(duration, "interval_count") ?? 1) : 1;
      end = start;
      for (let k = 0; k < count; k++) end = addInterval(end, interval ?? price.recurring.interval);
    }
    if (end <= start) throw invalidParam(`phases[${i}][end_date]`, "A phase must end after it starts.");
    const proration = oneOf(p, "proration_behavior", PRORATION_BEHAVIORS) ?? "create_prorations";
    const out = phase({ start, end, price: price.id, quantity, proration });
    start = end;
    return out;
  });
}

function refuseClosed(sched: Schedule): void {
  if (!OPEN.includes(sched.status)) {
    throw new StripeError({
      status: 400,
      type: "invalid_request_error",
      message: `You cannot update a subscription schedule that is currently in the \`${sched.status}\` status. It must be in one of the following statuses: \`not_started\`, \`active\`.`,
    });
  }
}

/** Detaches the schedule from its subscription (release), keeping the subscription as it is. */
function detach(store: Store, sched: Schedule, status: Schedule["status"]): Schedule {
  const subId = sched.subscription;
  const out: Schedule = {
    ...sched,
    status,
    current_phase: null,
    released_at: status === "released" ? nowSeconds() : null,
    completed_at: status === "completed" ? nowSeconds() : null,
    released_subscription: subId,
    subscription: null,
  };
  if (subId) {
    const sub = store.get<Subscription>(subId);
    if (sub) store.put({ ...sub, schedule: null });
  }
  return store.put(out);
}

/**
 * The billing clock at a period boundary (`advance`): the phase that starts at `boundary`
 * gives the next period's price; past the last phase the schedule ends by its end_behavior.
 * Returns the price and quantity to bill, or null when no schedule applies.
 */
export function enterPhase(
  c: { store: Store; events: { emit: (t: string, o: StripeObject, p?: Record<string, unknown>) => unknown } },
  sub: Subscription,
  boundary: number,
): { price: Price; quantity: number; end: number } | { cancel: true } | null {
  const schedId = typeof sub.schedule === "string" ? sub.schedule : null;
  if (!schedId) return null;
  const sched = getSchedule(c.store, schedId);
  if (!OPEN.includes(sched.status)) return null;
  const next = sched.phases.find((p) => p.start_date === boundary);
  if (!next) {
    const last = sched.phases.at(-1);
    if (last && boundary >= last.end_date) {
      const done = detach(c.store, sched, sched.end_behavior === "cancel" ? "completed" : "released");
      c.events.emit(
        `subscription_schedule.${sched.end_behavior === "cancel" ? "completed" : "released"}`,
        done,
      );
      if (sched.end_behavior === "cancel") return { cancel: true };
    }
    return null;
  }
  const updated = c.store.put({
    ...sched,
    current_phase: { start_date: next.start_date, end_date: next.end_date },
  });
  c.events.emit("subscription_schedule.updated", updated, changed(sched, updated));
  const item = next.items[0];
  if (!item) return null;
  return { price: activePrice(c.store, item.price, "price"), quantity: item.quantity, end: next.end_date };
}

export const subscriptionScheduleRoutes: Route[] = [
  route("POST", "/v1/subscription_schedules", ({ store, events, params }) => {
    allowOnly(params, [
      "customer",
      "from_subscription",
      "phases",
      "end_behavior",
      "metadata",
      "start_date",
      "default_settings",
    ]);
    const from = str(params, "from_subscription");
    if (from === undefined)
      throw invalidParam(
        "from_subscription",
        "The emulator creates schedules from_subscription only.",
        "parameter_missing",
      );
    const others = Object.keys(params).filter((k) => k !== "from_subscription" && k !== "expand");
    if (others.length > 0)
      throw invalidParam(
        others[0] ?? "from_subscription",
        "You cannot set other parameters when creating a schedule with `from_subscription`; update the schedule afterwards.",
      );
    const sub = getSubscription(store, from);
    if (sub.status === "canceled" || sub.status === "incomplete_expired")
      throw invalidParam("from_subscription", `The subscription ${sub.id} is ${sub.status}.`);
    if (typeof sub.schedule === "string")
      throw invalidParam(
        "from_subscription",
        `You cannot migrate a subscription that is already attached to a schedule: \`${sub.schedule}\`.`,
      );
    const sched = store.put(fromSubscription(sub));
    const after = store.put({ ...sub, schedule: sched.id });
    events.emit("subscription_schedule.created", sched);
    events.emit("customer.subscription.updated", after, changed(sub, after));
    return sched;
  }),
  route("GET", "/v1/subscription_schedules/:id", ({ store, ids }) => getSchedule(store, ids[0] ?? "")),
  route("POST", "/v1/subscription_schedules/:id", ({ store, events, params, ids }) => {
    allowOnly(params, ["phases", "end_behavior", "metadata", "proration_behavior", "default_settings"]);
    const before = getSchedule(store, ids[0] ?? "");
    refuseClosed(before);
    oneOf(params, "proration_behavior", PRORATION_BEHAVIORS);
    const after: Schedule = {
      ...before,
      metadata: applyMetadata(before.metadata as Record<string, string>, params),
      end_behavior: oneOf(params, "end_behavior", ["release", "cancel"]) ?? before.end_behavior,
    };
    if (params.phases !== undefined) {
      after.phases = parsePhases(store, params, before);
      const first = after.phases[0];
      if (first) after.current_phase = { start_date: first.start_date, end_date: first.end_date };
    }
    store.put(after);
    const prev = changed(before, after);
    if (Object.keys(prev).length > 0) events.emit("subscription_schedule.updated", after, prev);
    return after;
  }),
  route("POST", "/v1/subscription_schedules/:id/release", ({ store, events, params, ids }) => {
    allowOnly(params, ["preserve_cancel_date"]);
    const before = getSchedule(store, ids[0] ?? "");
    refuseClosed(before);
    const subBefore = before.subscription ? store.get<Subscription>(before.subscription) : null;
    const after = detach(store, before, "released");
    events.emit("subscription_schedule.released", after, changed(before, after));
    const subAfter = subBefore ? store.get<Subscription>(subBefore.id) : null;
    if (subBefore && subAfter)
      events.emit("customer.subscription.updated", subAfter, changed(subBefore, subAfter));
    return after;
  }),
];
