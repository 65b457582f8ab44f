import { eq } from "drizzle-orm";
import { auditLog, payments, refunds } from "../db/schema";
import type { Deps } from "../platform/deps";
import { ApiError } from "../platform/errors";
import { newId } from "../platform/ids";
import type { Principal } from "../platform/types";
import { derivedUuid } from "./ids";
import { visiblePayment } from "./payments.service";
import { publishRefund, refundRowFrom, refundTotalsUpdate } from "./refund-sync";
import type { RefundInput } from "./schemas";
import { callStripe } from "./stripe-errors";
import { paymentView, refundView } from "./views";

const REFUNDABLE = new Set(["succeeded", "partially_refunded"]);

/**
 * Admin refund. Stripe is called first with `refund:<refund_id>` (and enforces the
 * charge-level bound under races); then the refund row, the payment totals and the audit
 * row naming the admin are written in one batch.
 */
export async function refundPayment(
  deps: Deps,
  admin: Principal,
  paymentId: string,
  input: RefundInput,
  ctx: { requestId: string; clientKey: string | null },
) {
  const payment = await visiblePayment(deps, admin, paymentId);
  if (!REFUNDABLE.has(payment.status) || !payment.stripePaymentIntentId) {
    throw new ApiError("UNPROCESSABLE", `A ${payment.status} payment cannot be refunded`);
  }
  const refundable = payment.amount - payment.amountRefunded;
  const amount = input.amount ?? refundable;
  if (amount <= 0 || amount > refundable) {
    throw new ApiError("UNPROCESSABLE", "Refund exceeds the amount left to refund", {
      details: { amount, amount_refundable: refundable },
    });
  }
  const refundId = ctx.clientKey ? await derivedUuid("refund", admin.userId, ctx.clientKey) : newId();
  const piId = payment.stripePaymentIntentId;
  const stripeRefund = await callStripe("refund create", () =>
    deps.stripe.refunds.create(
      {
        payment_intent: piId,
        amount,
        ...(input.reason === "other" ? {} : { reason: input.reason }),
        metadata: {
          refund_id: refundId,
          payment_id: payment.id,
          admin_id: admin.userId,
          reason: input.reason,
          ...(input.note ? { note: input.note } : {}),
        },
      },
      { idempotencyKey: `refund:${refundId}` },
    ),
  );
  const row = {
    ...refundRowFrom(stripeRefund, payment, admin.userId),
    id: refundId,
    reason: input.reason,
    note: input.note ?? null,
    createdBy: admin.userId,
    createdAt: Date.now(),
  };
  await deps.db.batch([
    deps.db.insert(refunds).values(row).onConflictDoNothing(),
    refundTotalsUpdate(deps.db, payment.id),
    deps.db
      .insert(auditLog)
      .values({
        id: await derivedUuid("audit", "refund", refundId),
        actorId: admin.userId,
        actorRole: admin.role,
        action: "payment.refund",
        targetType: "payment",
        targetId: payment.id,
        details: {
          refund_id: refundId,
          stripe_refund_id: stripeRefund.id,
          amount,
          currency: payment.currency,
          reason: input.reason,
          note: input.note ?? null,
        },
        requestId: ctx.requestId,
        createdAt: Date.now(),
      })
      .onConflictDoNothing(),
  ]);
  // The webhook may have inserted this refund first (same id from metadata); read what is stored.
  const stored = await deps.db
    .select()
    .from(refunds)
    .where(eq(refunds.stripeRefundId, stripeRefund.id))
    .get();
  const after = await deps.db.select().from(payments).where(eq(payments.id, payment.id)).get();
  if (!stored || !after) throw new ApiError("INTERNAL", "Refund was not recorded");
  await publishRefund(deps, payment.id, stored);
  return { refund: refundView(stored), payment: paymentView(after) };
}
