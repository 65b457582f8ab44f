import { attemptPayment } from "./billing";
import type { ApiContext } from "./context";
import { invalidParam, noSuch, StripeError } from "./errors";
import { changed } from "./events";
import { nowSeconds } from "./ids";
import { addInterval, planOf } from "./objects-billing";
import { type Charge, DISPUTE_REASONS, type Dispute, dispute } from "./objects-charges";
import { balanceTransaction } from "./objects-payments";
import type { Subscription } from "./objects-subscriptions";
import { issueCycleInvoice } from "./proration";
import { getCharge } from "./resources/charges";
import { getIntent } from "./resources/payment-intents";
import { enterPhase } from "./resources/subscription-schedules";
import { getSubscription } from "./resources/subscriptions";

/** What Stripe does on its own (card networks, billing clocks), triggered by tests. */

type Ctx = Pick<ApiContext, "store" | "events">;

export function openDispute(
  c: Ctx,
  p: { payment_intent?: string; charge?: string; reason?: string },
): Dispute {
  const reason = p.reason ?? "fraudulent";
  if (!(DISPUTE_REASONS as readonly string[]).includes(reason))
    throw invalidParam("reason", `Invalid reason: ${reason}`);
  let ch: Charge;
  if (p.charge) ch = getCharge(c.store, p.charge, "charge");
  else if (p.payment_intent) {
    const pi = getIntent(c.store, p.payment_intent);
    if (!pi.latest_charge) throw noSuch("charge", `latest_charge of ${pi.id}`, "payment_intent");
    ch = getCharge(c.store, pi.latest_charge, "payment_intent");
  } else throw invalidParam("payment_intent", "Give payment_intent or charge.", "parameter_missing");
  if (ch.status !== "succeeded")
    throw invalidParam("charge", `Charge ${ch.id} did not succeed; it cannot be disputed.`);
  const txn = c.store.put(
    balanceTransaction({
      amount: -(ch.amount - ch.amount_refunded),
      currency: ch.currency,
      source: "",
      type: "adjustment",
      description: `Chargeback withdrawal for ${ch.id}`,
    }),
  );
  const dp = c.store.put(dispute(ch, reason, txn.id));
  c.store.put({ ...txn, source: dp.id });
  c.store.put({ ...ch, disputed: true });
  c.events.emit("charge.dispute.created", dp);
  return dp;
}

export function getDispute(c: Ctx, id: string): Dispute {
  const found = c.store.get<Dispute>(id);
  if (found?.object !== "dispute") throw noSuch("dispute", id);
  return found;
}

const OPEN_STATUSES = ["warning_needs_response", "warning_under_review", "needs_response", "under_review"];
/** A lost dispute can be appealed (Dispute.status in the pinned version); an appeal is decided won or lost. */
const APPEAL_STATUSES = ["appeal_needs_response", "appeal_under_review"];
const UNDECIDED = [...OPEN_STATUSES, ...APPEAL_STATUSES];

export function updateDispute(c: Ctx, id: string, p: { status?: string; evidence_due_by?: number }): Dispute {
  const before = getDispute(c, id);
  // Within its stage only: an inquiry or chargeback among the open statuses, an appeal among its own.
  const stage = APPEAL_STATUSES.includes(before.status) ? APPEAL_STATUSES : OPEN_STATUSES;
  if (!UNDECIDED.includes(before.status))
    throw invalidParam("status", `Dispute ${id} is closed (${before.status}).`);
  if (p.status !== undefined && !stage.includes(p.status))
    throw invalidParam("status", `status must be one of ${stage.join(", ")}`);
  const after: Dispute = {
    ...before,
    status: p.status ?? before.status,
    evidence_details: {
      ...before.evidence_details,
      due_by: p.evidence_due_by ?? before.evidence_details.due_by,
    },
  };
  c.store.put(after);
  c.events.emit("charge.dispute.updated", after, changed(before, after));
  return after;
}

export function closeDispute(c: Ctx, id: string, status: string): Dispute {
  if (status !== "won" && status !== "lost" && status !== "warning_closed")
    throw invalidParam("status", "status must be won, lost or warning_closed");
  const before = getDispute(c, id);
  if (!UNDECIDED.includes(before.status))
    throw invalidParam("status", `Dispute ${id} is already closed (${before.status}).`);
  if (status === "warning_closed" && APPEAL_STATUSES.includes(before.status))
    throw invalidParam("status", "An appeal is decided won or lost.");
  const after: Dispute = { ...before, status };
  c.store.put(after);
  c.events.emit("charge.dispute.closed", after, changed(before, after));
  return after;
}

/** A lost dispute moves into appeal (appeal_needs_response), as the card network allows. */
export function appealDispute(c: Ctx, id: string): Dispute {
  const before = getDispute(c, id);
  if (before.status !== "lost")
    throw invalidParam("status", `Only a lost dispute can be appealed; ${id} is ${before.status}.`);
  const after: Dispute = { ...before, status: "appeal_needs_response" };
  c.store.put(after);
  c.events.emit("charge.dispute.updated", after, changed(before, after));
  return after;
}

function endAtPeriodEnd(c: Ctx, before: Subscription, end: number): Subscription {
  const after: Subscription = {
    ...before,
    status: "canceled",
    ended_at: end,
    canceled_at: before.canceled_at ?? nowSeconds(),
  };
  c.store.put(after);
  c.events.emit("customer.subscription.deleted", after, changed(before, after));
  return after;
}

/**
 * Ends the current period: a subscription set to cancel at period end is deleted; otherwise
 * the next period starts with a new invoice, paid (active) or failed (past_due).
 */
export function advanceSubscription(c: Ctx, id: string, opts: { fail?: boolean }): Subscription {
  const before = getSubscription(c.store, id);
  if (!["active", "past_due", "trialing"].includes(before.status)) {
    throw new StripeError({
      status: 400,
      type: "invalid_request_error",
      message: `Subscription ${id} is ${before.status}; only active, past_due or trialing subscriptions advance.`,
    });
  }
  const item = before.items.data[0];
  if (!item) throw noSuch("subscription_item", id);
  if (before.cancel_at_period_end) return endAtPeriodEnd(c, before, item.current_period_end);
  const start = item.current_period_end;
  // A subscription schedule's next phase sets the new period's price (a change at period end).
  const phase = enterPhase(c, before, start);
  if (phase && "cancel" in phase)
    return endAtPeriodEnd(c, getSubscription(c.store, id), item.current_period_end);
  const current = getSubscription(c.store, id);
  const price = phase ? phase.price : item.price;
  const end = addInterval(start, price.recurring.interval);
  const nextItem = {
    ...item,
    ...(phase ? { price, plan: planOf(price), quantity: phase.quantity } : {}),
    current_period_start: start,
    current_period_end: end,
  };
  const draft: Subscription = {
    ...current,
    items: { ...before.items, data: [nextItem] },
  };
  const outcome = attemptPayment(c, draft, opts.fail === true);
  const inv = issueCycleInvoice(c, draft, nextItem, outcome.paid);
  const after: Subscription = {
    ...draft,
    status: outcome.paid ? "active" : "past_due",
    latest_invoice: inv.id,
  };
  c.store.put(after);
  c.events.emit("customer.subscription.updated", after, changed(before, after));
  return after;
}
