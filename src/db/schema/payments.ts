import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { amount, createdAt, currency, json, updatedAt, uuidPk } from "./columns";

export const PAYMENT_STATUSES = [
  "requires_payment_method",
  "requires_confirmation",
  "requires_action",
  "processing",
  "succeeded",
  "failed",
  "canceled",
  "partially_refunded",
  "refunded",
  "disputed",
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export const customers = sqliteTable("customers", {
  id: uuidPk(),
  userId: text("user_id").notNull().unique(),
  stripeCustomerId: text("stripe_customer_id").notNull().unique(),
  createdAt: createdAt(),
});

export const payments = sqliteTable(
  "payments",
  {
    id: uuidPk(),
    userId: text("user_id").notNull(),
    merchantId: text("merchant_id"),
    amount: amount(),
    currency: currency(),
    amountRefunded: integer("amount_refunded").notNull().default(0),
    status: text("status", { enum: PAYMENT_STATUSES }).notNull(),
    description: text("description"),
    orderId: text("order_id"),
    campaignId: text("campaign_id"),
    /** Revenue attribution (e.g. "web", "ios", "campaign_email"). */
    source: text("source"),
    metadata: json("metadata").$type<Record<string, string>>(),
    stripePaymentIntentId: text("stripe_payment_intent_id").unique(),
    stripeCustomerId: text("stripe_customer_id"),
    stripeChargeId: text("stripe_charge_id"),
    cardBrand: text("card_brand"),
    cardLast4: text("card_last4"),
    receiptUrl: text("receipt_url"),
    receiptNumber: text("receipt_number"),
    failureCode: text("failure_code"),
    declineCode: text("decline_code"),
    failureMessage: text("failure_message"),
    paidAt: integer("paid_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    // History: own payments newest first, stable tie-break on id.
    index("payments_user_created_idx").on(t.userId, t.createdAt, t.id),
    index("payments_status_created_idx").on(t.status, t.createdAt),
    index("payments_created_idx").on(t.createdAt, t.id),
    index("payments_merchant_created_idx").on(t.merchantId, t.createdAt),
    index("payments_campaign_idx").on(t.campaignId),
  ],
);

export const refunds = sqliteTable(
  "refunds",
  {
    id: uuidPk(),
    paymentId: text("payment_id").notNull(),
    stripeRefundId: text("stripe_refund_id").unique(),
    amount: amount(),
    currency: currency(),
    reason: text("reason").notNull(),
    note: text("note"),
    status: text("status").notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("refunds_payment_idx").on(t.paymentId),
    index("refunds_created_idx").on(t.createdAt),
    // The reconciler's scan for unsettled refunds (reconcile.ts).
    index("refunds_status_updated_idx").on(t.status, t.updatedAt),
  ],
);

export const disputes = sqliteTable(
  "disputes",
  {
    id: uuidPk(),
    paymentId: text("payment_id"),
    stripeDisputeId: text("stripe_dispute_id").notNull().unique(),
    stripeChargeId: text("stripe_charge_id"),
    stripePaymentIntentId: text("stripe_payment_intent_id"),
    amount: amount(),
    currency: currency(),
    reason: text("reason"),
    status: text("status").notNull(),
    evidenceDueBy: integer("evidence_due_by"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("disputes_status_idx").on(t.status, t.createdAt),
    index("disputes_payment_idx").on(t.paymentId),
  ],
);

/**
 * Stripe webhook ledger. The event id is the primary key: a redelivery is one failed
 * INSERT, which is how exactly-once handling is enforced.
 */
export const webhookEvents = sqliteTable(
  "webhook_events",
  {
    id: text("id").primaryKey(),
    type: text("type").notNull(),
    /** Stripe's `created` (seconds), used to order events for the same object. */
    stripeCreated: integer("stripe_created").notNull(),
    objectId: text("object_id"),
    payload: text("payload").notNull(),
    status: text("status", { enum: ["received", "processed", "deferred", "failed", "ignored"] }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    /** Re-runs of a parked event that threw (migrations/0013); bounds its retries. */
    failures: integer("failures").notNull().default(0),
    error: text("error"),
    receivedAt: integer("received_at").notNull(),
    processedAt: integer("processed_at"),
  },
  (t) => [
    index("webhook_events_status_idx").on(t.status, t.receivedAt),
    index("webhook_events_object_idx").on(t.objectId),
  ],
);

export const subscriptions = sqliteTable(
  "subscriptions",
  {
    id: uuidPk(),
    userId: text("user_id").notNull(),
    planId: text("plan_id").notNull(),
    stripeSubscriptionId: text("stripe_subscription_id").unique(),
    stripeCustomerId: text("stripe_customer_id"),
    status: text("status").notNull(),
    amount: amount(),
    currency: currency(),
    interval: text("interval", { enum: ["month", "year"] }).notNull(),
    quantity: integer("quantity").notNull().default(1),
    currentPeriodStart: integer("current_period_start"),
    currentPeriodEnd: integer("current_period_end"),
    cancelAtPeriodEnd: integer("cancel_at_period_end", { mode: "boolean" }).notNull().default(false),
    canceledAt: integer("canceled_at"),
    endedAt: integer("ended_at"),
    // migrations/0016 (dunning): when the renewal failed, and the cron's cancel lease.
    dunningStartedAt: integer("dunning_started_at"),
    dunningCancelClaimedAt: integer("dunning_cancel_claimed_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    // migrations/0015: the open plan change (subscription-change.service.ts); change_id is its claim.
    changeId: text("change_id"),
    pendingPlanId: text("pending_plan_id"),
    pendingProration: text("pending_proration", { enum: ["now", "next_period"] }),
    pendingEffectiveAt: integer("pending_effective_at"),
    changeRequestedAt: integer("change_requested_at"),
    stripeScheduleId: text("stripe_schedule_id"),
  },
  (t) => [
    index("subscriptions_user_idx").on(t.userId, t.createdAt),
    index("subscriptions_dunning_idx").on(t.dunningStartedAt).where(sql`${t.dunningStartedAt} is not null`),
    index("subscriptions_status_idx").on(t.status),
    // migrations/0008: one live paid and one live free subscription per user; the claim row
    // written before Stripe is called holds the slot.
    uniqueIndex("subscriptions_one_live")
      .on(t.userId, sql`(${t.amount} > 0)`)
      .where(sql`${t.status} in ('active', 'trialing', 'past_due', 'incomplete', 'unpaid', 'paused')`),
    index("subscriptions_claims_idx")
      .on(t.createdAt)
      .where(sql`${t.stripeSubscriptionId} is null and ${t.amount} > 0`),
  ],
);

/**
 * MRR movements, appended whenever a subscription's monthly value changes; the revenue
 * report sums these rather than reconstructing history from current rows.
 */
export const mrrMovements = sqliteTable(
  "mrr_movements",
  {
    id: uuidPk(),
    subscriptionId: text("subscription_id").notNull(),
    userId: text("user_id").notNull(),
    kind: text("kind", { enum: ["new", "expansion", "contraction", "churn", "reactivation"] }).notNull(),
    /** Monthly-normalised values in minor units of `currency`. */
    mrrBefore: integer("mrr_before").notNull(),
    mrrAfter: integer("mrr_after").notNull(),
    currency: currency(),
    occurredAt: integer("occurred_at").notNull(),
    /** Source event (webhook or API call) so a replay does not double count. */
    sourceId: text("source_id").notNull(),
  },
  (t) => [
    index("mrr_movements_occurred_idx").on(t.occurredAt),
    uniqueIndex("mrr_movements_source_idx").on(t.sourceId, t.subscriptionId),
  ],
);
