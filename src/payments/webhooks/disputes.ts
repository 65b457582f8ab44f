import { and, eq, inArray, or } from "drizzle-orm";
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
 * Stripe's dispute state machine (Dispute.status). An inquiry (`warning_*`) may close
 * (`warning_closed`) or escalate into a chargeback on the same object; a chargeback moves
 * needs_response → under_review → won | lost (or `prevented`); a lost dispute may be appealed
 * (`appeal_needs_response` → `appeal_under_review`), and an appeal ends won or lost.
 * Statuses only move forward along these arrows: a replayed or late event (whose re-read
 * status is behind ours) changes nothing, and a move may skip steps we never saw.
 */
const OPEN = ["warning_needs_response", "warning_under_review", "needs_response", "under_review"];
const APPEAL = ["appeal_needs_response", "appeal_under_review"];
const CLOSED = ["won", "lost", "warning_closed", "prevented"];
const DECIDED = ["won", "lost", "prevented"];

function disputeMoves(from: string, to: string): boolean {
  if (from === to) return false;
  const known = [...OPEN, ...APPEAL, ...CLOSED];
  if (!known.includes(to)) return !known.includes(from); // an unknown status is only copied over an unknown one
  if (OPEN.includes(from)) {
    if (OPEN.includes(to)) return OPEN.indexOf(to) > OPEN.indexOf(from);
    // an inquiry closes as warning_closed; a chargeback never does
    if (to === "warning_closed") return from.startsWith("warning_");
    return true; // decided, or decided lost and already appealed
  }
  if (from === "warning_closed")
    return to === "needs_response" || to === "under_review" || DECIDED.includes(to);
  if (APPEAL.includes(from))
    return (
      (APPEAL.includes(to) && APPEAL.indexOf(to) > APPEAL.indexOf(from)) || to === "won" || to === "lost"
    );
  if (from === "lost") return APPEAL.includes(to);
  if (CLOSED.includes(from)) return false; // won, prevented: final
  return true; // from an unknown status
}

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

type Transition = { from: string | null; to: string };

/**
 * Writes Stripe's current dispute onto our row and returns the status transition that this
 * call applied, if any. Each move is a compare-and-set on the row's status, so of two
 * concurrent deliveries only one applies a given transition.
 */
async function applyDispute(
  deps: Deps,
  d: Stripe.Dispute,
  paymentId: string | null,
): Promise<{ row: typeof disputes.$inferSelect; moved: Transition | null }> {
  const piId = ref(d.payment_intent);
  const chargeId = ref(d.charge);
  const dueBy = fromStripeTime(num(obj(d.evidence_details)?.due_by));
  for (let attempt = 0; attempt < 5; attempt++) {
    const t = Date.now();
    const row = await deps.db.select().from(disputes).where(eq(disputes.stripeDisputeId, d.id)).get();
    if (!row) {
      const inserted = await deps.db
        .insert(disputes)
        .values({
          id: newId(),
          paymentId,
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
        .onConflictDoNothing({ target: disputes.stripeDisputeId })
        .returning();
      const created = inserted[0];
      if (created) return { row: created, moved: { from: null, to: created.status } };
      continue; // a concurrent delivery inserted it: compare against its row
    }
    const moves = disputeMoves(row.status, d.status);
    if (!moves && (row.status !== d.status || CLOSED.includes(row.status))) {
      // behind us (a late or replayed event), or closed: nothing to write but a missing payment link
      if (row.paymentId || !paymentId) return { row, moved: null };
    }
    const updated = await deps.db
      .update(disputes)
      .set({
        ...(moves ? { status: d.status } : {}),
        ...(moves || row.status === d.status ? { evidenceDueBy: dueBy } : {}),
        paymentId: row.paymentId ?? paymentId,
        updatedAt: t,
      })
      .where(and(eq(disputes.id, row.id), eq(disputes.status, row.status)))
      .returning();
    const after = updated[0];
    if (after) return { row: after, moved: moves ? { from: row.status, to: d.status } : null };
    // the status changed under us: re-read and decide again
  }
  throw new Error(`dispute ${d.id}: status kept changing under concurrent deliveries`);
}

/**
 * charge.dispute.* (created, updated, closed, funds_withdrawn, funds_reinstated). The dispute
 * is re-read from Stripe and its row moved forward along Stripe's state machine (a dispute is
 * always kept, even for a charge we cannot match); the payment is marked disputed. Domain
 * events follow the transitions, not the webhook events: `dispute.created` once per dispute,
 * then one `dispute.updated` or `dispute.closed` per status move, with an id naming the move
 * (`dispute.closed:<dispute>:<from>:<to>`), so a won appeal after a lost dispute is a second
 * `dispute.closed`, and a replay or a late event publishes nothing.
 */
export const onDispute: EventHandler = async (deps, event) => {
  // Re-read, like payment_intent.* and refund.*: a late `created(needs_response)` must not
  // overwrite a newer `under_review`.
  const d = await currentDispute(deps, event.data.object as Stripe.Dispute);
  const payment = await paymentFor(deps, ref(d.payment_intent), ref(d.charge));
  const { row, moved } = await applyDispute(deps, d, payment?.id ?? null);

  if (payment) {
    await deps.db
      .update(payments)
      .set({ status: "disputed", updatedAt: Date.now() })
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
  if (moved && moved.from !== null) {
    const closed = CLOSED.includes(moved.to);
    await publish(deps, {
      id: `dispute.${closed ? "closed" : "updated"}:${d.id}:${moved.from}:${moved.to}`,
      type: closed ? "dispute.closed" : "dispute.updated",
      data: { dispute_id: row.id, payment_id: row.paymentId, status: moved.to },
      source: "payments",
    });
  } else if (moved && CLOSED.includes(moved.to)) {
    // first seen already closed (every earlier event was late): it still closed
    await publish(deps, {
      id: `dispute.closed:${d.id}:new:${moved.to}`,
      type: "dispute.closed",
      data: { dispute_id: row.id, payment_id: row.paymentId, status: moved.to },
      source: "payments",
    });
  }
  return processed;
};
