import { attemptPayment } from "./billing";
import type { ApiContext } from "./context";
import { subscriptionCardDeclined } from "./errors";
import { newId, nowSeconds } from "./ids";
import { addInterval, type Price, planOf, type SubscriptionItem } from "./objects-billing";
import type { Customer } from "./objects-payments";
import { type Invoice, invoice, type Line, lineObjects, type Subscription } from "./objects-subscriptions";
import type { StripeObject } from "./store";

/**
 * A price change on a subscription item, prorated the way Stripe documents it
 * (docs.stripe.com/billing/subscriptions/prorations): the unused part of the current period
 * is credited at the old price and the rest of the period is charged at the new one.
 * - `always_invoice`: those two lines are invoiced and charged now;
 * - `create_prorations` (Stripe's default): they become pending invoice items, billed with the
 *   next renewal invoice;
 * - `none`: the price changes and nothing is billed until the renewal.
 * A change of interval resets the billing cycle to now (Stripe does the same) and bills the
 * new period in full at once, with the credit unless proration is `none`.
 */

export const PRORATION_BEHAVIORS = ["always_invoice", "create_prorations", "none"] as const;
export type ProrationBehavior = (typeof PRORATION_BEHAVIORS)[number];

type Ctx = Pick<ApiContext, "store" | "events">;

export function changeItemPrice(
  c: Ctx,
  before: Subscription,
  item: SubscriptionItem,
  next: { price: Price; quantity: number },
  behavior: ProrationBehavior,
  errorIfIncomplete: boolean,
): Subscription {
  const now = nowSeconds();
  const resetCycle = next.price.recurring.interval !== item.price.recurring.interval;
  const start = resetCycle ? now : item.current_period_start;
  const end = resetCycle ? addInterval(now, next.price.recurring.interval) : item.current_period_end;
  const nextItem: SubscriptionItem = {
    ...item,
    price: next.price,
    plan: planOf(next.price),
    quantity: next.quantity,
    current_period_start: start,
    current_period_end: end,
  };
  const draft: Subscription = {
    ...before,
    ...(resetCycle ? { billing_cycle_anchor: now } : {}),
    items: { ...before.items, data: [nextItem] },
  };
  const lines = behavior === "none" ? [] : prorationLines(item, nextItem, now);
  if (resetCycle) lines.push(fullPeriodLine(nextItem));
  if (lines.length === 0) return draft;
  if (behavior === "create_prorations" && !resetCycle) {
    for (const line of lines) c.store.put(pendingItem(before, line));
    return draft;
  }
  const inv = invoiceNow(c, draft, nextItem, lines, errorIfIncomplete);
  return { ...draft, latest_invoice: inv.id, status: inv.status === "paid" ? draft.status : "past_due" };
}

function prorationLines(old: SubscriptionItem, next: SubscriptionItem, now: number): Line[] {
  const span = old.current_period_end - old.current_period_start;
  const left = Math.min(Math.max(old.current_period_end - now, 0), span);
  const fraction = span > 0 ? left / span : 0;
  const period = { start: now, end: old.current_period_end };
  const name = (p: Price) => String(p.nickname ?? p.id);
  const lines: Line[] = [
    {
      amount: -Math.round(old.price.unit_amount * old.quantity * fraction),
      description: `Unused time on ${old.quantity} × ${name(old.price)}`,
      price: old.price,
      quantity: old.quantity,
      itemId: old.id,
      proration: true,
      period,
    },
  ];
  if (next.current_period_end === old.current_period_end) {
    lines.push({
      amount: Math.round(next.price.unit_amount * next.quantity * fraction),
      description: `Remaining time on ${next.quantity} × ${name(next.price)}`,
      price: next.price,
      quantity: next.quantity,
      itemId: next.id,
      proration: true,
      period,
    });
  }
  return lines;
}

function fullPeriodLine(item: SubscriptionItem): Line {
  return {
    amount: item.price.unit_amount * item.quantity,
    description: `${item.quantity} × ${String(item.price.nickname ?? item.price.id)}`,
    price: item.price,
    quantity: item.quantity,
    itemId: item.id,
    proration: false,
    period: { start: item.current_period_start, end: item.current_period_end },
  };
}

/** A pending proration (`invoiceitem`), as Stripe leaves it for the next invoice. */
function pendingItem(sub: Subscription, line: Line): StripeObject {
  return {
    id: newId("ii"),
    object: "invoiceitem",
    amount: line.amount,
    currency: line.price.currency,
    customer: sub.customer,
    date: nowSeconds(),
    description: line.description,
    discountable: false,
    discounts: [],
    invoice: null,
    livemode: false,
    metadata: {},
    parent: {
      subscription_details: { subscription: sub.id, subscription_item: line.itemId },
      type: "subscription_details",
    },
    period: line.period,
    pricing: {
      price_details: { price: line.price.id, product: line.price.product },
      type: "price_details",
      unit_amount_decimal: String(line.price.unit_amount),
    },
    proration: true,
    quantity: line.quantity,
    tax_rates: [],
    test_clock: null,
  };
}

/** The subscription's pending proration items as invoice lines; they are marked invoiced. */
export function takePendingLines(c: Ctx, sub: Subscription, invoiceId: string): Line[] {
  const pending = c.store
    .all<
      StripeObject & { invoice: string | null; parent: { subscription_details: { subscription: string } } }
    >("invoiceitem")
    .filter((ii) => ii.invoice === null && ii.parent.subscription_details.subscription === sub.id);
  return pending.map((ii) => {
    c.store.put({ ...ii, invoice: invoiceId });
    const item = sub.items.data[0];
    return {
      amount: Number(ii.amount),
      description: String(ii.description),
      price: item?.price as Price,
      quantity: Number(ii.quantity),
      itemId: item?.id ?? "",
      proration: true,
      period: ii.period as Line["period"],
    };
  });
}

/** An invoice whose lines are `lines`, with the totals and balance Stripe derives from them. */
export function invoiceWithLines(
  base: Invoice,
  subId: string,
  lines: Line[],
  paid: boolean,
  startingBalance = 0,
): Invoice {
  const total = lines.reduce((s, l) => s + l.amount, 0);
  // A credit balance (negative) pays first; what is left is due, a negative rest stays credit.
  const afterCredit = total + startingBalance;
  const due = Math.max(afterCredit, 0);
  const data = lineObjects(base.id, subId, lines);
  return {
    ...base,
    amount_due: due,
    amount_paid: paid ? due : 0,
    amount_remaining: paid ? 0 : due,
    starting_balance: startingBalance,
    ending_balance: Math.min(afterCredit, 0),
    subtotal: total,
    subtotal_excluding_tax: total,
    total,
    total_excluding_tax: total,
    lines: { ...(base.lines as object), data, total_count: data.length },
  } as Invoice;
}

function invoiceNow(
  c: Ctx,
  sub: Subscription,
  item: SubscriptionItem,
  lines: Line[],
  errorIfIncomplete: boolean,
): Invoice {
  const cust = c.store.get<Customer>(sub.customer);
  const balance = Math.min(Number(cust?.balance ?? 0), 0);
  const total = lines.reduce((s, l) => s + l.amount, 0);
  const outcome = total + balance > 0 ? attemptPayment(c, sub) : ({ paid: true } as const);
  if (!outcome.paid && errorIfIncomplete) {
    // Stripe's error_if_incomplete: a 402 and nothing changed (no invoice, no new price).
    throw subscriptionCardDeclined(outcome.reason);
  }
  const base = invoice({
    sub,
    item,
    billingReason: "subscription_update",
    paid: outcome.paid,
    customerEmail: cust?.email ?? null,
  });
  const inv = c.store.put(invoiceWithLines(base, sub.id, lines, outcome.paid, balance));
  if (cust) c.store.put({ ...cust, balance: Number(inv.ending_balance) });
  c.events.emit(outcome.paid ? "invoice.paid" : "invoice.payment_failed", inv);
  return inv;
}

/**
 * The renewal invoice: the new period at the item's price plus any pending prorations
 * (`create_prorations` items left by earlier changes), as Stripe bills them together.
 */
export function issueCycleInvoice(c: Ctx, sub: Subscription, item: SubscriptionItem, paid: boolean): Invoice {
  const cust = c.store.get<Customer>(sub.customer);
  const base = invoice({
    sub,
    item,
    billingReason: "subscription_cycle",
    paid,
    customerEmail: cust?.email ?? null,
  });
  const pending = takePendingLines(c, sub, base.id);
  const inv = c.store.put(
    pending.length === 0 ? base : invoiceWithLines(base, sub.id, [fullPeriodLine(item), ...pending], paid),
  );
  c.events.emit(paid ? "invoice.paid" : "invoice.payment_failed", inv);
  return inv;
}
