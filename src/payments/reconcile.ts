import { and, asc, type Column, eq, inArray, isNotNull, lt } from "drizzle-orm";
import { payments, refunds } from "../db/schema";
import type { PaymentStatus } from "../db/schema/payments";
import type { Deps } from "../platform/deps";
import { applyIntent } from "./payment-sync";
import { UNSETTLED_REFUND } from "./refund-state";
import { applyRefund } from "./refund-sync";
import { callStripe } from "./stripe-errors";

/**
 * The janitor for unknown outcomes (after Kill Bill's): a webhook can be lost for good (an
 * endpoint outage longer than Stripe's retries, a disabled endpoint), and then a payment stays
 * `processing` and a refund `pending` forever. Every 5 minutes this re-reads from Stripe each
 * payment and refund that has sat in an unsettled state longer than
 * PAYMENT_RECONCILE_AFTER_MINUTES, and applies it with the same forward-only writes the
 * webhooks use (payment-state.ts, refund-state.ts), so a late webhook and the janitor converge.
 * Oldest first, bounded per run; one failing object is logged and does not stop the rest.
 */
const STUCK_PAYMENT: PaymentStatus[] = ["processing", "requires_action", "requires_confirmation"];
const BATCH = 50;

export type ReconcileResult = { checked: number; corrected: number; failed: number };

export async function reconcilePayments(deps: Deps, now = Date.now()): Promise<ReconcileResult> {
  const before = now - deps.config.PAYMENT_RECONCILE_AFTER_MINUTES * 60_000;
  const result: ReconcileResult = { checked: 0, corrected: 0, failed: 0 };

  // Unsettled since before the cutoff, and known to Stripe.
  const unsettled = (status: Column, values: string[], updatedAt: Column, stripeId: Column) =>
    and(inArray(status, values), lt(updatedAt, before), isNotNull(stripeId));

  const stuck = await deps.db
    .select()
    .from(payments)
    .where(unsettled(payments.status, STUCK_PAYMENT, payments.updatedAt, payments.stripePaymentIntentId))
    .orderBy(asc(payments.updatedAt))
    .limit(BATCH);
  for (const row of stuck) {
    const piId = row.stripePaymentIntentId ?? "";
    await step(deps, result, { payment_id: row.id, stripe_id: piId }, async () => {
      const pi = await callStripe("payment intent retrieve", () => deps.stripe.paymentIntents.retrieve(piId));
      const after = await applyIntent(deps, row, pi);
      return [row.status, after.status];
    });
  }

  const pending = await deps.db
    .select({ refund: refunds, payment: payments })
    .from(refunds)
    .innerJoin(payments, eq(payments.id, refunds.paymentId))
    .where(unsettled(refunds.status, UNSETTLED_REFUND, refunds.updatedAt, refunds.stripeRefundId))
    .orderBy(asc(refunds.updatedAt))
    .limit(BATCH);
  for (const { refund, payment } of pending) {
    const reId = refund.stripeRefundId ?? "";
    await step(deps, result, { refund_id: refund.id, payment_id: payment.id, stripe_id: reId }, async () => {
      const r = await callStripe("refund retrieve", () => deps.stripe.refunds.retrieve(reId));
      const moved = await applyRefund(deps, payment, r);
      return [refund.status, moved.after ?? refund.status];
    });
  }
  return result;
}

/** Re-reads one object; logs a correction (from → to) or a failure, never throws. */
async function step(
  deps: Deps,
  result: ReconcileResult,
  ids: Record<string, string>,
  run: () => Promise<[string, string]>,
): Promise<void> {
  result.checked++;
  try {
    const [from, to] = await run();
    if (from !== to) {
      result.corrected++;
      deps.logger.info("reconciler corrected state from Stripe", { ...ids, from, to });
    }
  } catch (err) {
    result.failed++;
    deps.logger.warn("reconciler could not re-read from Stripe", { ...ids, err });
  }
}
