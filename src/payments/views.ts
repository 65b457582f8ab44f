import type { disputes, payments, refunds } from "../db/schema";
import { toIso } from "../platform/ids";
import { toDecimalString } from "../platform/money";
import { monthlyValue, type Plan } from "./plans";
import type {
  DisputeView,
  PaymentView,
  PlanView,
  ReceiptView,
  RefundView,
  SubscriptionView,
} from "./schemas";
import { ENDED, mrrOf, type SubscriptionRow } from "./subscription-sync";

export type PaymentRow = typeof payments.$inferSelect;
export type RefundRow = typeof refunds.$inferSelect;
export type DisputeRow = typeof disputes.$inferSelect;

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * The payments columns a PaymentView is built from, and nothing else: the history reads only
 * these (history.service.ts), since a D1 result travels as JSON text that the binding parses,
 * and the Stripe ids, card and receipt columns were a quarter of each row for nothing.
 */
export const PAYMENT_VIEW_KEYS = [
  "id",
  "userId",
  "merchantId",
  "status",
  "amount",
  "amountRefunded",
  "currency",
  "description",
  "orderId",
  "campaignId",
  "source",
  "metadata",
  "failureCode",
  "declineCode",
  "failureMessage",
  "paidAt",
  "createdAt",
  "updatedAt",
] as const satisfies readonly (keyof PaymentRow)[];
export type PaymentViewRow = Pick<PaymentRow, (typeof PAYMENT_VIEW_KEYS)[number]>;

export function paymentView(p: PaymentViewRow): PaymentView {
  const failed = p.failureCode !== null || p.declineCode !== null;
  return {
    payment_id: p.id,
    user_id: p.userId,
    merchant_id: p.merchantId,
    status: p.status,
    amount: p.amount,
    amount_decimal: toDecimalString(p.amount, p.currency),
    amount_refunded: p.amountRefunded,
    amount_refunded_decimal: toDecimalString(p.amountRefunded, p.currency),
    currency: p.currency,
    description: p.description,
    order_id: p.orderId,
    campaign_id: p.campaignId,
    source: p.source,
    metadata: p.metadata ?? {},
    failure:
      failed && p.status !== "succeeded"
        ? { code: p.failureCode, decline_code: p.declineCode, message: p.failureMessage }
        : null,
    paid_at: toIso(p.paidAt),
    created_at: iso(p.createdAt),
    updated_at: iso(p.updatedAt),
  };
}

/** Our receipt number when Stripe has not assigned one: date plus the payment id's head. */
export function receiptNumberFor(p: PaymentRow): string {
  const day = new Date(p.paidAt ?? p.createdAt).toISOString().slice(0, 10).replaceAll("-", "");
  return `R-${day}-${p.id.slice(0, 8).toUpperCase()}`;
}

export function receiptView(p: PaymentRow): ReceiptView {
  const paid = p.paidAt !== null ? p.amount : 0;
  const net = paid - p.amountRefunded;
  return {
    receipt_number: p.paidAt !== null ? (p.receiptNumber ?? receiptNumberFor(p)) : null,
    currency: p.currency,
    amount_paid: paid,
    amount_paid_decimal: toDecimalString(paid, p.currency),
    amount_refunded: p.amountRefunded,
    amount_refunded_decimal: toDecimalString(p.amountRefunded, p.currency),
    amount_net: net,
    amount_net_decimal: toDecimalString(net, p.currency),
    card_brand: p.cardBrand,
    card_last4: p.cardLast4,
    paid_at: toIso(p.paidAt),
    receipt_url: p.receiptUrl,
  };
}

export function refundView(r: RefundRow): RefundView {
  return {
    refund_id: r.id,
    payment_id: r.paymentId,
    amount: r.amount,
    amount_decimal: toDecimalString(r.amount, r.currency),
    currency: r.currency,
    reason: r.reason,
    note: r.note,
    status: r.status,
    created_by: r.createdBy,
    created_at: iso(r.createdAt),
  };
}

export function disputeView(d: DisputeRow): DisputeView {
  return {
    dispute_id: d.id,
    stripe_dispute_id: d.stripeDisputeId,
    payment_id: d.paymentId,
    amount: d.amount,
    amount_decimal: toDecimalString(d.amount, d.currency),
    currency: d.currency,
    reason: d.reason,
    status: d.status,
    evidence_due_by: toIso(d.evidenceDueBy),
    created_at: iso(d.createdAt),
    updated_at: iso(d.updatedAt),
  };
}

export function planView(p: Plan): PlanView {
  return {
    ...p,
    amount_decimal: toDecimalString(p.amount, p.currency),
    monthly_amount: monthlyValue(p.amount, p.interval),
  };
}

/** The open plan change, if any (subscription-change.service.ts); none once the subscription ended. */
export function pendingChangeOf(row: SubscriptionRow): SubscriptionView["pending_change"] {
  if (row.pendingPlanId === null || ENDED.includes(row.status)) return null;
  return {
    plan: row.pendingPlanId,
    proration: row.pendingProration ?? "next_period",
    effective_at: row.pendingEffectiveAt === null ? null : new Date(row.pendingEffectiveAt).toISOString(),
  };
}

export function subscriptionView(s: SubscriptionRow): SubscriptionView {
  return {
    subscription_id: s.id,
    plan: s.planId,
    status: s.status,
    amount: s.amount,
    amount_decimal: toDecimalString(s.amount, s.currency),
    currency: s.currency,
    interval: s.interval,
    quantity: s.quantity,
    mrr: mrrOf(s),
    current_period_start: toIso(s.currentPeriodStart),
    current_period_end: toIso(s.currentPeriodEnd),
    cancel_at_period_end: s.cancelAtPeriodEnd,
    canceled_at: toIso(s.canceledAt),
    ended_at: toIso(s.endedAt),
    dunning_started_at: toIso(s.dunningStartedAt),
    created_at: iso(s.createdAt),
    pending_change: pendingChangeOf(s),
  };
}
