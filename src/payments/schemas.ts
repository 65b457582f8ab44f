import { z } from "@hono/zod-openapi";
import { PAYMENT_STATUSES } from "../db/schema/payments";
import { amountSchema, chargeAmountProblem, currencySchema } from "../platform/money";
import { cursorSchema, isoDateParam, limitSchema } from "../platform/pagination";
import { UNICODE_TEXT_PATTERN, unicodeText } from "../platform/text";
import { PLAN_IDS } from "./plans";

/** An amount in minor units always travels with its decimal string and currency. */
const amountFields = { amount: z.number().int(), amount_decimal: z.string(), currency: z.string() };

export const idempotencyHeader = z.object({
  "idempotency-key": z.string().max(255).optional().openapi({
    description: "Replays the first response for the same key and body; 409 for a different body",
  }),
});

/**
 * Free text that is forwarded to Stripe. A lone UTF-16 surrogate cannot be form-encoded
 * (encodeURIComponent throws), so it is a 400 here instead of a 502 after the call fails
 * (platform/text.ts); the document states the rule as a pattern for client-side validators.
 */
const stripeText = (max: number) =>
  unicodeText(z.string().max(max)).openapi({ pattern: UNICODE_TEXT_PATTERN });

const idLike = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\w.:-]+$/);
const metadataSchema = z
  .record(
    z
      .string()
      .min(1)
      .max(40)
      .regex(/^[\w.-]+$/),
    stripeText(500),
  )
  .refine((m) => Object.keys(m).length <= 20, "at most 20 metadata keys")
  .openapi({ description: "Up to 20 string pairs (key ≤ 40, value ≤ 500 chars)" });

export const createIntentBody = z
  .object({
    amount: amountSchema,
    currency: currencySchema,
    description: stripeText(500).optional(),
    order_id: idLike.optional(),
    campaign_id: idLike.optional(),
    merchant_id: idLike.optional().openapi({ description: "The merchant being paid, if any" }),
    source: z
      .string()
      .regex(/^[a-z0-9_.-]{1,64}$/)
      .default("direct")
      .openapi({ description: "Revenue attribution, e.g. web, ios, campaign_email" }),
    metadata: metadataSchema.optional(),
  })
  .strict()
  .superRefine((body, ctx) => {
    const problem = chargeAmountProblem(body.amount, body.currency);
    if (problem) ctx.addIssue({ code: "custom", path: ["amount"], message: problem });
  })
  .openapi("CreateIntentRequest");

export const createIntentResponse = z
  .object({
    payment_id: z.uuid(),
    client_secret: z.string(),
    status: z.enum(PAYMENT_STATUSES),
    ...amountFields,
  })
  .openapi("CreateIntentResponse");

const paymentMethodId = z.string().regex(/^pm_\w{1,100}$/);

export const confirmBody = z
  .object({
    payment_id: z.uuid(),
    payment_method: paymentMethodId
      .optional()
      .openapi({ description: "A Stripe PaymentMethod id; omit after client-side confirmation" }),
  })
  .strict()
  .openapi("ConfirmRequest");

export const failureSchema = z
  .object({
    code: z.string().nullable(),
    decline_code: z.string().nullable(),
    message: z.string().nullable(),
  })
  .nullable();

export const paymentSchema = z
  .object({
    payment_id: z.uuid(),
    user_id: z.string(),
    merchant_id: z.string().nullable(),
    status: z.enum(PAYMENT_STATUSES),
    amount: z.number().int(),
    amount_decimal: z.string(),
    amount_refunded: z.number().int(),
    amount_refunded_decimal: z.string(),
    currency: z.string(),
    description: z.string().nullable(),
    order_id: z.string().nullable(),
    campaign_id: z.string().nullable(),
    source: z.string().nullable(),
    metadata: z.record(z.string(), z.string()),
    failure: failureSchema,
    paid_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Payment");

export const confirmResponse = paymentSchema
  .extend({ next_action: z.record(z.string(), z.unknown()).nullable() })
  .openapi("ConfirmResponse");

export const receiptSchema = z
  .object({
    receipt_number: z.string().nullable(),
    currency: z.string(),
    amount_paid: z.number().int(),
    amount_paid_decimal: z.string(),
    amount_refunded: z.number().int(),
    amount_refunded_decimal: z.string(),
    amount_net: z.number().int(),
    amount_net_decimal: z.string(),
    card_brand: z.string().nullable(),
    card_last4: z.string().nullable(),
    paid_at: z.string().nullable(),
    receipt_url: z.string().nullable(),
  })
  .openapi("Receipt");

export const refundSchema = z
  .object({
    refund_id: z.uuid(),
    payment_id: z.uuid(),
    ...amountFields,
    reason: z.string(),
    note: z.string().nullable(),
    status: z.string(),
    created_by: z.string(),
    created_at: z.string(),
  })
  .openapi("Refund");

export const paymentDetailSchema = paymentSchema
  .extend({ receipt: receiptSchema, refunds: z.array(refundSchema) })
  .openapi("PaymentDetail");

export const paymentIdParam = z.object({
  payment_id: z.uuid().openapi({ param: { name: "payment_id", in: "path" } }),
});

const statusList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(",")).map((s) => s.trim()).filter(Boolean))
  .pipe(z.array(z.enum(PAYMENT_STATUSES)).max(PAYMENT_STATUSES.length))
  .openapi({ description: "One or more statuses (repeat the parameter or comma-separate)" });

export const historyQuery = z
  .object({
    status: statusList.optional(),
    from: isoDateParam.optional(),
    to: isoDateParam.optional(),
    user_id: idLike.optional().openapi({ description: "Admins only: whose history" }),
    limit: limitSchema,
    cursor: cursorSchema,
  })
  .strict();

export const historyResponse = z
  .object({ items: z.array(paymentSchema), next_cursor: z.string().nullable() })
  .openapi("PaymentHistory");

export const REFUND_REASONS = ["duplicate", "fraudulent", "requested_by_customer", "other"] as const;

export const refundBody = z
  .object({
    amount: amountSchema.optional().openapi({ description: "Partial amount; defaults to what is left" }),
    reason: z.enum(REFUND_REASONS),
    note: stripeText(500).optional(),
  })
  .strict()
  .openapi("RefundRequest");

export const refundResponse = z
  .object({ refund: refundSchema, payment: paymentSchema })
  .openapi("RefundResponse");

export const disputeSchema = z
  .object({
    dispute_id: z.string(),
    stripe_dispute_id: z.string(),
    payment_id: z.string().nullable(),
    ...amountFields,
    reason: z.string().nullable(),
    status: z.string(),
    evidence_due_by: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Dispute");

export const disputesQuery = z
  .object({ status: z.string().max(64).optional(), limit: limitSchema, cursor: cursorSchema })
  .strict();

export const disputesResponse = z
  .object({ items: z.array(disputeSchema), next_cursor: z.string().nullable() })
  .openapi("DisputeList");

export const webhookHeaders = z.object({ "stripe-signature": z.string().optional() });

export const webhookResponse = z.object({
  received: z.literal(true),
  duplicate: z.boolean(),
  status: z.string(),
});

// ---- subscriptions

export const planSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    lookup_key: z
      .string()
      .nullable()
      .openapi({ description: "The Stripe price lookup key (null: free, no Stripe)" }),
    ...amountFields,
    interval: z.enum(["month", "year"]),
    monthly_amount: z.number().int(),
  })
  .openapi("Plan");

export const plansResponse = z.object({ items: z.array(planSchema) });

export const subscriptionSchema = z
  .object({
    subscription_id: z.uuid(),
    plan: z.string(),
    status: z.string(),
    ...amountFields,
    interval: z.enum(["month", "year"]),
    quantity: z.number().int(),
    mrr: z.number().int(),
    current_period_start: z.string().nullable(),
    current_period_end: z.string().nullable(),
    cancel_at_period_end: z.boolean(),
    canceled_at: z.string().nullable(),
    ended_at: z.string().nullable(),
    dunning_started_at: z.string().nullable().openapi({
      description:
        "When a renewal failed and dunning began (null unless past_due); the grace period counts from it",
    }),
    created_at: z.string(),
    pending_change: z
      .object({
        plan: z.string(),
        proration: z.enum(["now", "next_period"]),
        effective_at: z.string().nullable().openapi({ description: "When the new plan takes effect" }),
      })
      .nullable()
      .openapi({ description: "A plan change not yet in effect (POST /subscriptions/{id}/change)" }),
  })
  .openapi("Subscription");

export const subscriptionsResponse = z.object({ items: z.array(subscriptionSchema) });

export const createSubscriptionBody = z
  .object({
    plan: z.enum(PLAN_IDS),
    payment_method: paymentMethodId.optional().openapi({ description: "Required unless the plan is free" }),
  })
  .strict()
  .openapi("CreateSubscriptionRequest");

export const cancelSubscriptionBody = z
  .object({ at_period_end: z.boolean().default(true) })
  .strict()
  .openapi("CancelSubscriptionRequest");

export const changeSubscriptionBody = z
  .object({
    plan: z.enum(PLAN_IDS),
    proration: z.enum(["now", "next_period"]).openapi({
      description:
        "now: an upgrade is prorated and charged immediately (a downgrade is refused, 422); next_period: the plan changes at the period end, nothing is charged now",
    }),
  })
  .strict()
  .openapi("ChangeSubscriptionRequest");

export const subscriptionIdParam = z.object({ id: z.uuid().openapi({ param: { name: "id", in: "path" } }) });

export const updatePaymentMethodBody = z
  .object({
    payment_method: paymentMethodId.openapi({ description: "A PaymentMethod (pm_…) from Stripe.js" }),
  })
  .strict()
  .openapi("UpdatePaymentMethodRequest");

export const updatePaymentMethodResponse = z
  .object({
    subscription: subscriptionSchema,
    paid_invoice: z
      .object({ invoice_id: z.string(), ...amountFields })
      .nullable()
      .openapi({ description: "The open invoice this request paid (null: nothing was due)" }),
  })
  .openapi("UpdatePaymentMethodResponse");

// ---- the types services and views work with, so they never need zod (or hono) themselves

export type CreateIntentInput = z.infer<typeof createIntentBody>;
export type ConfirmInput = z.infer<typeof confirmBody>;
export type HistoryQuery = z.infer<typeof historyQuery>;
export type RefundInput = z.infer<typeof refundBody>;
export type DisputesQuery = z.infer<typeof disputesQuery>;
export type CreateSubscriptionInput = z.infer<typeof createSubscriptionBody>;
export type ChangeSubscriptionInput = z.infer<typeof changeSubscriptionBody>;
export type PaymentView = z.infer<typeof paymentSchema>;
export type ReceiptView = z.infer<typeof receiptSchema>;
export type RefundView = z.infer<typeof refundSchema>;
export type DisputeView = z.infer<typeof disputeSchema>;
export type PlanView = z.infer<typeof planSchema>;
export type SubscriptionView = z.infer<typeof subscriptionSchema>;
export type UpdatePaymentMethodView = z.infer<typeof updatePaymentMethodResponse>;
