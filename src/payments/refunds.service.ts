import { eq } from "drizzle-orm";
import Stripe from "stripe";
import { auditLog, payments, refunds } from "../db/schema";
import type { Deps } from "../platform/deps";
import { ApiError } from "../platform/errors";
import { newId } from "../platform/ids";
import type { Principal } from "../platform/types";
import { derivedUuid } from "./ids";
import { visiblePayment } from "./payments.service";
import {
  applyRefund,
  listStripeRefunds,
  publishRefund,
  refundRowFrom,
  refundTotalsUpdate,
} from "./refund-sync";
import type { RefundInput } from "./schemas";
import { callStripe, mapStripeError } from "./stripe-errors";
import { type PaymentRow, paymentView, refundView } from "./views";

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
  const refundId = ctx.clientKey ? await derivedUuid("refund", admin.userId, ctx.clientKey) : newId();
  const earlier = await deps.db.select().from(refunds).where(eq(refunds.id, refundId)).get();
  if (earlier) return earlierRefund(deps, earlier, payment.id, input);
  if (!REFUNDABLE.has(payment.status) || !payment.stripePaymentIntentId) {
    throw new ApiError("UNPROCESSABLE", `A ${payment.status} payment cannot be refunded`);
  }
  const piId = payment.stripePaymentIntentId;
  // This key's earlier attempt refunded at Stripe, then its D1 batch failed: record that refund
  // now, as this request would have (the admin, the note, the audit row), never a second one.
  const own = await recordUnknownRefunds(deps, payment, piId, refundId);
  const asked = own?.metadata?.requested_amount;
  if (own && asked !== undefined && asked !== requestedAmount(input)) {
    throw new ApiError("IDEMPOTENCY_CONFLICT", "Idempotency-Key was already used with a different request");
  }
  const refundable = payment.amount - payment.amountRefunded;
  const amount = own?.amount ?? input.amount ?? refundable;
  if (!own && (amount <= 0 || amount > refundable)) {
    throw new ApiError("UNPROCESSABLE", "Refund exceeds the amount left to refund", {
      details: { amount, amount_refundable: refundable },
    });
  }
  const stripeRefund =
    own ??
    (await refundAtStripe(() =>
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
            // What was asked for ("rest" when no amount was given): the key's request, which
            // earlierRefund compares against once the key's own row is gone.
            requested_amount: requestedAmount(input),
            ...(input.note ? { note: input.note } : {}),
          },
        },
        { idempotencyKey: `refund:${refundId}` },
      ),
    ));
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

/**
 * A refund can exist at Stripe without our row: the D1 write after `refunds.create` failed
 * (and the webhook has not arrived). Deciding a new refund on our totals would then refund
 * twice, so Stripe's list for the intent is read first and every refund we lack is recorded.
 * The one this request's own key made is returned unrecorded (it is this request's earlier
 * attempt, and the caller records it as that request); any other means the admin decided on
 * totals that were wrong: 409, nothing created, and the payment now shows what Stripe really
 * refunded (ours among them).
 */
async function recordUnknownRefunds(
  deps: Deps,
  payment: PaymentRow,
  piId: string,
  refundId: string,
): Promise<Stripe.Refund | null> {
  const atStripe = await listStripeRefunds(deps, piId);
  const known = new Set(
    (
      await deps.db
        .select({ id: refunds.stripeRefundId })
        .from(refunds)
        .where(eq(refunds.paymentId, payment.id))
    ).map((r) => r.id),
  );
  const unknown = atStripe.filter((r) => !known.has(r.id));
  if (unknown.length === 0) return null;
  const own = unknown.find((r) => r.metadata?.refund_id === refundId);
  // Ours is left to the caller, which records it with its admin, note and audit row.
  for (const r of unknown) if (r !== own) await applyRefund(deps, payment, r);
  if (own && unknown.length === 1) return own;
  if (own) await applyRefund(deps, payment, own);
  deps.logger.warn("refund found at Stripe without its row; recorded it and refused the new refund", {
    payment_id: payment.id,
    stripe_refund_ids: unknown.map((r) => r.id),
  });
  throw new ApiError("CONFLICT", "This payment has refunds we had not recorded; review it and retry", {
    details: {
      code: "unrecorded_refunds",
      refunds: unknown.map((r) => ({ stripe_refund_id: r.id, amount: r.amount, status: r.status })),
    },
  });
}

/**
 * Stripe refuses to refund a charged-back payment (`charge_disputed`): the dispute already
 * returns the money. That is a conflict with the payment's state, answered 409 CONFLICT (the
 * dispute webhook may not have reached us yet, so our row can still look refundable).
 */
async function refundAtStripe(create: () => Promise<Stripe.Refund>): Promise<Stripe.Refund> {
  try {
    return await create();
  } catch (err) {
    if (err instanceof Stripe.errors.StripeInvalidRequestError && err.code === "charge_disputed") {
      throw new ApiError("CONFLICT", "The payment is disputed (charged back); it cannot be refunded", {
        details: { code: "charge_disputed" },
        cause: err,
      });
    }
    throw mapStripeError(err, "refund create");
  }
}

/**
 * The refund this admin's Idempotency-Key already made. The key stays bound to its request
 * while the row lives (after the 24 h replay window, and after Stripe forgot its own key):
 * the same request gets the stored refund back, another one is a 409, never a second refund.
 */
async function earlierRefund(
  deps: Deps,
  earlier: typeof refunds.$inferSelect,
  paymentId: string,
  input: RefundInput,
) {
  const same =
    earlier.paymentId === paymentId &&
    earlier.reason === input.reason &&
    earlier.note === (input.note ?? null) &&
    (await sameAmountRequest(deps, earlier, input));
  if (!same) {
    throw new ApiError("IDEMPOTENCY_CONFLICT", "Idempotency-Key was already used with a different request");
  }
  const after = await deps.db.select().from(payments).where(eq(payments.id, paymentId)).get();
  if (!after) throw new ApiError("INTERNAL", "Refund was not recorded");
  return { refund: refundView(earlier), payment: paymentView(after) };
}

const requestedAmount = (input: RefundInput): string =>
  input.amount === undefined ? "rest" : String(input.amount);

/**
 * Whether `input` asks for the amount the earlier refund's request asked for. "The rest" and
 * an explicit amount are different requests even when the numbers happen to agree (Stripe's
 * rule: same key, other parameters → error). The request is read from the refund's metadata
 * at Stripe (written at create, so it survives a D1 failure after the create); refunds made
 * before it was recorded fall back to comparing the amount.
 */
async function sameAmountRequest(
  deps: Deps,
  earlier: typeof refunds.$inferSelect,
  input: RefundInput,
): Promise<boolean> {
  const stripeId = earlier.stripeRefundId;
  const atStripe = stripeId
    ? await callStripe("refund retrieve", () => deps.stripe.refunds.retrieve(stripeId))
    : null;
  const requested = atStripe?.metadata?.requested_amount;
  if (requested === undefined) return input.amount === undefined || input.amount === earlier.amount;
  return requested === requestedAmount(input);
}
