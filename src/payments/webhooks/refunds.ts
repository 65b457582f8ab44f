import { eq } from "drizzle-orm";
import type Stripe from "stripe";
import { refunds } from "../../db/schema";
import type { Deps } from "../../platform/deps";
import { publishRefund, refundRowFrom, refundTotalsUpdate } from "../refund-sync";
import { callStripe } from "../stripe-errors";
import { ref } from "../stripe-objects";
import type { PaymentRow } from "../views";
import { paymentForIntent } from "./payment-intents";
import { deferred, type EventHandler, ignored, processed } from "./types";

/** Records one Stripe refund (ours or made in Stripe's dashboard), recomputes totals, publishes. */
async function recordRefund(deps: Deps, payment: PaymentRow, r: Stripe.Refund): Promise<void> {
  const row = refundRowFrom(r, payment, "stripe");
  await deps.db.batch([
    deps.db.insert(refunds).values(row).onConflictDoNothing(),
    deps.db
      .update(refunds)
      .set({ status: row.status, updatedAt: Date.now() })
      .where(eq(refunds.stripeRefundId, r.id)),
    refundTotalsUpdate(deps.db, payment.id),
  ]);
  if (row.status !== "failed" && row.status !== "canceled") {
    const stored = await deps.db.select().from(refunds).where(eq(refunds.stripeRefundId, r.id)).get();
    if (stored) await publishRefund(deps, payment.id, stored);
  }
}

/** charge.refunded: every refund on the charge, from the list Stripe gives or a fresh read. */
export const onChargeRefunded: EventHandler = async (deps, event) => {
  const charge = event.data.object as Stripe.Charge;
  const piId = ref(charge.payment_intent);
  if (!piId) return ignored("charge without a payment intent");
  const payment = await paymentForIntent(deps, piId, charge.metadata?.payment_id);
  if (!payment) return charge.metadata?.payment_id ? deferred(piId) : ignored("charge not ours");
  const listed = charge.refunds?.data;
  const all =
    listed && !charge.refunds?.has_more
      ? listed
      : (
          await callStripe("refund list", () =>
            deps.stripe.refunds.list({ payment_intent: piId, limit: 100 }),
          )
        ).data;
  for (const r of all) await recordRefund(deps, payment, r);
  return processed;
};

/** refund.created / refund.updated / refund.failed: the refund's own status. */
export const onRefund: EventHandler = async (deps, event) => {
  const r = event.data.object as Stripe.Refund;
  const piId = ref(r.payment_intent);
  if (!piId) return ignored("refund without a payment intent");
  const payment = await paymentForIntent(deps, piId, r.metadata?.payment_id);
  if (!payment) return r.metadata?.payment_id ? deferred(piId) : ignored("refund not ours");
  await recordRefund(deps, payment, r);
  return processed;
};
