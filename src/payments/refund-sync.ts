import { and, eq, inArray, sql } from "drizzle-orm";
import type Stripe from "stripe";
import { payments, refunds } from "../db/schema";
import { publish } from "../events/publish";
import type { Deps } from "../platform/deps";
import { newId } from "../platform/ids";
import type { Db } from "../platform/types";
import { refundAllowedFrom, refundStatusOf } from "./refund-state";
import { callStripe } from "./stripe-errors";
import { fromStripeTime } from "./stripe-objects";
import type { PaymentRow } from "./views";

/**
 * Recomputes amount_refunded from the refund rows (never `+=`), so the API path and the
 * charge.refunded webhook can both apply a refund without double counting.
 */
export function refundTotalsUpdate(db: Db, paymentId: string) {
  const total = sql`(select coalesce(sum(${refunds.amount}), 0) from ${refunds} where ${refunds.paymentId} = ${paymentId} and ${refunds.status} not in ('failed', 'canceled'))`;
  return db
    .update(payments)
    .set({
      amountRefunded: total,
      status: sql`case
        when ${payments.status} in ('succeeded', 'partially_refunded', 'refunded') then
          case when ${total} >= ${payments.amount} then 'refunded' when ${total} > 0 then 'partially_refunded' else 'succeeded' end
        else ${payments.status} end`,
      updatedAt: Date.now(),
    })
    .where(eq(payments.id, paymentId));
}

/** A refund row built from Stripe's object; our metadata (set at create) carries id, reason, note and admin. */
export function refundRowFrom(r: Stripe.Refund, payment: PaymentRow, fallbackCreatedBy: string) {
  const m = r.metadata ?? {};
  const t = Date.now();
  return {
    id: m.refund_id ?? newId(),
    paymentId: payment.id,
    stripeRefundId: r.id,
    amount: r.amount,
    currency: r.currency,
    reason: m.reason ?? r.reason ?? "other",
    note: m.note ?? null,
    status: refundStatusOf(r.status),
    createdBy: m.admin_id ?? fallbackCreatedBy,
    createdAt: fromStripeTime(r.created) ?? t,
    updatedAt: t,
  };
}

export async function publishRefund(
  deps: Deps,
  paymentId: string,
  row: { id: string; amount: number; stripeRefundId: string | null },
) {
  const p = await deps.db.select().from(payments).where(eq(payments.id, paymentId)).get();
  if (!p) return;
  await publish(deps, {
    id: `payment.refunded:${row.stripeRefundId ?? row.id}`,
    type: "payment.refunded",
    data: {
      payment_id: p.id,
      user_id: p.userId,
      merchant_id: p.merchantId,
      refund_id: row.id,
      amount: row.amount,
      currency: p.currency,
      amount_refunded_total: p.amountRefunded,
    },
    source: "payments",
  });
}

/**
 * Applies Stripe's refund (ours or one made in Stripe's dashboard) to its row: inserted if new,
 * else moved forward only (refund-state.ts), totals recomputed in the same batch, then
 * `payment.refunded` published (deterministic id, so replays publish once). Callers pass an
 * object read from Stripe, never an event's copy, unless Stripe no longer has it.
 * Returns the stored status before and after, so the reconciler can log what it corrected.
 */
export async function applyRefund(
  deps: Deps,
  payment: PaymentRow,
  r: Stripe.Refund,
): Promise<{ before: string | null; after: string | null }> {
  const row = refundRowFrom(r, payment, "stripe");
  const byStripeId = eq(refunds.stripeRefundId, r.id);
  const prior = await deps.db.select({ status: refunds.status }).from(refunds).where(byStripeId).get();
  await deps.db.batch([
    deps.db.insert(refunds).values(row).onConflictDoNothing(),
    deps.db
      .update(refunds)
      .set({ status: row.status, updatedAt: Date.now() })
      .where(and(byStripeId, inArray(refunds.status, refundAllowedFrom(row.status)))),
    refundTotalsUpdate(deps.db, payment.id),
  ]);
  const stored = await deps.db.select().from(refunds).where(byStripeId).get();
  if (stored && stored.status !== "failed" && stored.status !== "canceled") {
    await publishRefund(deps, payment.id, stored);
  }
  return { before: prior?.status ?? null, after: stored?.status ?? null };
}

/** Every refund Stripe has for a PaymentIntent (a Charge embeds none since API 2022-11-15). */
export function listStripeRefunds(deps: Deps, piId: string): Promise<Stripe.Refund[]> {
  return callStripe("refund list", () =>
    deps.stripe.refunds.list({ payment_intent: piId, limit: 100 }).autoPagingToArray({ limit: 1000 }),
  );
}
