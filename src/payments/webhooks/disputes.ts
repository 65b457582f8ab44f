import { and, eq, inArray, notInArray, or, sql } from "drizzle-orm";
import type Stripe from "stripe";
import { disputes, payments } from "../../db/schema";
import { publish } from "../../events/publish";
import type { Deps } from "../../platform/deps";
import { newId } from "../../platform/ids";
import { allowedFrom } from "../payment-state";
import { isMissing, mapStripeError } from "../stripe-errors";
import { fromStripeTime, num, obj, ref } from "../stripe-objects";
import { type EventHandler, processed } from "./types";

/**
 * Closed dispute statuses. They never change again, whatever order events arrive in, with
 * one exception: a lost dispute may be appealed (Dispute.status in the pinned version has
 * `appeal_needs_response` and `appeal_under_review`), and an appeal ends won or lost.
 */
const CLOSED = ["won", "lost", "warning_closed", "prevented"];
const APPEAL = ["appeal_needs_response", "appeal_under_review"];

async function paymentFor(deps: Deps, piId: string | null, chargeId: string | null) {
  if (!piId && !chargeId) return undefined;
  const conds = [
    ...(piId ? [eq(payments.stripePaymentIntentId, piId)] : []),
    ...(chargeId ? [eq(payments.stripeChargeId, chargeId)] : []),
  ];
  return deps.db
    .select()
    .from(payments)
    .where(or(...conds))
    .get();
}

/** Stripe's current dispute; the event's copy only when Stripe no longer has it. */
async function currentDispute(deps: Deps, fallback: Stripe.Dispute): Promise<Stripe.Dispute> {
  try {
    return await deps.stripe.disputes.retrieve(fallback.id);
  } catch (err) {
    if (isMissing(err)) return fallback;
    throw mapStripeError(err, "dispute retrieve");
  }
}

/**
 * charge.dispute.created / updated / closed. The dispute row is upserted from Stripe's
 * object (a dispute is always kept, even for a charge we cannot match), the payment is
 * marked disputed, and dispute.created is published once whichever event comes first.
 */
export const onDispute: EventHandler = async (deps, event) => {
  // Re-read, like payment_intent.* and refund.*: an open dispute's status is copied, so a
  // late `created(needs_response)` must not overwrite a newer `under_review`.
  const d = await currentDispute(deps, event.data.object as Stripe.Dispute);
  const piId = ref(d.payment_intent);
  const chargeId = ref(d.charge);
  const payment = await paymentFor(deps, piId, chargeId);
  const t = Date.now();
  const dueBy = fromStripeTime(num(obj(d.evidence_details)?.due_by));

  await deps.db
    .insert(disputes)
    .values({
      id: newId(),
      paymentId: payment?.id ?? null,
      stripeDisputeId: d.id,
      stripeChargeId: chargeId,
      stripePaymentIntentId: piId,
      amount: d.amount,
      currency: d.currency,
      reason: d.reason ?? null,
      status: d.status,
      evidenceDueBy: dueBy,
      createdAt: fromStripeTime(d.created) ?? t,
      updatedAt: t,
    })
    .onConflictDoUpdate({
      target: disputes.stripeDisputeId,
      set: {
        status: sql`excluded.status`,
        evidenceDueBy: sql`excluded.evidence_due_by`,
        paymentId: sql`coalesce(${disputes.paymentId}, excluded.payment_id)`,
        updatedAt: t,
      },
      setWhere: or(
        notInArray(disputes.status, CLOSED),
        and(eq(disputes.status, "lost"), inArray(sql`excluded.status`, APPEAL)),
      ),
    });
  const row = await deps.db.select().from(disputes).where(eq(disputes.stripeDisputeId, d.id)).get();
  if (!row) throw new Error("dispute upsert lost");

  if (payment) {
    await deps.db
      .update(payments)
      .set({ status: "disputed", updatedAt: t })
      .where(and(eq(payments.id, payment.id), inArray(payments.status, allowedFrom("disputed"))));
  }

  await publish(deps, {
    id: `dispute.created:${d.id}`,
    type: "dispute.created",
    data: {
      dispute_id: row.id,
      payment_id: row.paymentId,
      amount: row.amount,
      currency: row.currency,
      reason: row.reason,
    },
    source: "payments",
  });
  if (event.type === "charge.dispute.updated") {
    await publish(deps, {
      id: event.id,
      type: "dispute.updated",
      data: { dispute_id: row.id, payment_id: row.paymentId, status: row.status },
      source: "payments",
    });
  } else if (event.type === "charge.dispute.closed" || CLOSED.includes(row.status)) {
    await publish(deps, {
      id: `dispute.closed:${d.id}`,
      type: "dispute.closed",
      data: { dispute_id: row.id, payment_id: row.paymentId, status: row.status },
      source: "payments",
    });
  }
  return processed;
};
