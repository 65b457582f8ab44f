import { and, eq, exists, inArray } from "drizzle-orm";
import type Stripe from "stripe";
import { disputes, payments } from "../db/schema";
import type { PaymentStatus } from "../db/schema/payments";
import { publish } from "../events/publish";
import type { Deps } from "../platform/deps";
import { allowedFrom, isOpen, isSettled, statusOfIntent } from "./payment-state";
import { refundTotalsUpdate } from "./refund-sync";
import { callStripe } from "./stripe-errors";
import { fromStripeTime, ref } from "./stripe-objects";
import { type PaymentRow, receiptNumberFor } from "./views";

type LastError = {
  code?: string | null;
  decline_code?: string | null;
  message?: string | null;
  charge?: unknown;
};

function lastErrorOf(pi: Stripe.PaymentIntent): LastError | null {
  const e = pi.last_payment_error as LastError | null | undefined;
  return e ?? null;
}

async function chargeOf(deps: Deps, pi: Stripe.PaymentIntent): Promise<Stripe.Charge | null> {
  const latest = pi.latest_charge;
  if (latest === null || latest === undefined) return null;
  if (typeof latest !== "string") return latest;
  return callStripe("charge retrieve", () => deps.stripe.charges.retrieve(latest));
}

/**
 * Moves our row towards Stripe's PaymentIntent, forward-only, and publishes the
 * matching domain event with a deterministic id (so confirm and webhook, or a replayed
 * webhook, publish once). Returns the row as it is afterwards.
 */
export async function applyIntent(
  deps: Deps,
  row: PaymentRow,
  pi: Stripe.PaymentIntent,
): Promise<PaymentRow> {
  const to: PaymentStatus = statusOfIntent(pi);
  const t = Date.now();
  const guard = and(eq(payments.id, row.id), inArray(payments.status, allowedFrom(to)));

  if (to === "succeeded") {
    const charge = await chargeOf(deps, pi);
    const card = charge?.payment_method_details?.card;
    const paidAt = fromStripeTime(charge?.created) ?? t;
    // Stripe does not order events: a refund or dispute may have been recorded while our row
    // was still open (their status moves need a settled row). The same batch re-derives the
    // status from those rows, so the late success cannot hide them.
    await deps.db.batch([
      deps.db
        .update(payments)
        .set({
          status: "succeeded",
          stripeChargeId: charge?.id ?? null,
          stripeCustomerId: ref(pi.customer) ?? row.stripeCustomerId,
          cardBrand: card?.brand ?? null,
          cardLast4: card?.last4 ?? null,
          receiptUrl: charge?.receipt_url ?? null,
          receiptNumber: charge?.receipt_number ?? receiptNumberFor({ ...row, paidAt }),
          failureCode: null,
          declineCode: null,
          failureMessage: null,
          paidAt,
          updatedAt: t,
        })
        .where(guard),
      refundTotalsUpdate(deps.db, row.id),
      deps.db
        .update(payments)
        .set({ status: "disputed", updatedAt: t })
        .where(
          and(
            eq(payments.id, row.id),
            inArray(payments.status, allowedFrom("disputed")),
            exists(deps.db.select({ x: disputes.id }).from(disputes).where(eq(disputes.paymentId, row.id))),
          ),
        ),
    ]);
  } else if (isOpen(to) || to === "canceled") {
    const e = to === "failed" ? lastErrorOf(pi) : null;
    await deps.db
      .update(payments)
      .set({
        status: to,
        ...(to === "failed"
          ? {
              failureCode: e?.code ?? null,
              declineCode: e?.decline_code ?? null,
              failureMessage: e?.message ?? null,
            }
          : {}),
        updatedAt: t,
      })
      .where(guard);
  }

  const after = await deps.db.select().from(payments).where(eq(payments.id, row.id)).get();
  if (!after) return row;
  await publishFor(deps, after, pi);
  return after;
}

async function publishFor(deps: Deps, p: PaymentRow, pi: Stripe.PaymentIntent): Promise<void> {
  const base = {
    payment_id: p.id,
    user_id: p.userId,
    merchant_id: p.merchantId,
    amount: p.amount,
    currency: p.currency,
  };
  if (isSettled(p.status)) {
    await publish(deps, {
      id: `payment.succeeded:${p.id}`,
      type: "payment.succeeded",
      data: base,
      source: "payments",
      occurred_at: p.paidAt ?? Date.now(),
    });
  } else if (p.status === "failed") {
    const e = lastErrorOf(pi);
    const attempt = ref(e?.charge) ?? p.declineCode ?? p.failureCode ?? "x";
    await publish(deps, {
      id: `payment.failed:${p.id}:${attempt}`,
      type: "payment.failed",
      data: { ...base, decline_code: p.declineCode },
      source: "payments",
    });
  }
}
