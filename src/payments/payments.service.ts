import { asc, eq } from "drizzle-orm";
import type Stripe from "stripe";
import { payments, refunds } from "../db/schema";
import type { Deps } from "../platform/deps";
import { merchantExists } from "../platform/directory";
import { ApiError, notFound } from "../platform/errors";
import { newId } from "../platform/ids";
import { toDecimalString } from "../platform/money";
import type { Principal } from "../platform/types";
import { ownerOrAdmin } from "./access";
import { ensureCustomer } from "./customers";
import { derivedUuid } from "./ids";
import { isOpen } from "./payment-state";
import { applyIntent } from "./payment-sync";
import type { ConfirmInput, CreateIntentInput } from "./schemas";
import { callStripe, isCardError, isUnexpectedState, mapStripeError } from "./stripe-errors";
import { type PaymentRow, paymentView, receiptView, refundView } from "./views";
import { drainDeferred } from "./webhooks/deferred";

/**
 * Creates the Stripe PaymentIntent first (key `pi:<payment_id>`), then the row, so a
 * Stripe failure leaves nothing behind; with a client Idempotency-Key the payment id is
 * derived from it, so a retry after a failure in between finds the same intent.
 */
export async function createIntent(
  deps: Deps,
  principal: Principal,
  input: CreateIntentInput,
  clientKey: string | null,
) {
  const merchantId = await payeeMerchant(deps, principal, input.merchant_id ?? null);
  const paymentId = clientKey ? await derivedUuid("payment", principal.userId, clientKey) : newId();
  const existing = await deps.db.select().from(payments).where(eq(payments.id, paymentId)).get();
  if (existing) return existingIntent(deps, existing, input);
  const customerId = await ensureCustomer(deps, principal.userId);
  const pi = await callStripe("payment intent create", () =>
    deps.stripe.paymentIntents.create(
      {
        amount: input.amount,
        currency: input.currency,
        customer: customerId,
        ...(input.description ? { description: input.description } : {}),
        automatic_payment_methods: { enabled: true, allow_redirects: "never" },
        metadata: {
          ...input.metadata,
          payment_id: paymentId,
          user_id: principal.userId,
          source: input.source,
          ...(input.order_id ? { order_id: input.order_id } : {}),
          ...(input.campaign_id ? { campaign_id: input.campaign_id } : {}),
        },
      },
      { idempotencyKey: `pi:${paymentId}` },
    ),
  );
  const t = Date.now();
  await deps.db
    .insert(payments)
    .values({
      id: paymentId,
      userId: principal.userId,
      merchantId,
      amount: input.amount,
      currency: input.currency,
      status: "requires_payment_method",
      description: input.description ?? null,
      orderId: input.order_id ?? null,
      campaignId: input.campaign_id ?? null,
      source: input.source,
      metadata: input.metadata ?? {},
      stripePaymentIntentId: pi.id,
      stripeCustomerId: customerId,
      createdAt: t,
      updatedAt: t,
    })
    .onConflictDoNothing();
  // A webhook that beat us here was parked; apply it now that the row exists.
  await drainDeferred(deps, pi.id);
  return intentView(await loadRow(deps, paymentId), pi);
}

function intentView(row: PaymentRow, pi: Stripe.PaymentIntent) {
  return {
    payment_id: row.id,
    client_secret: pi.client_secret ?? "",
    status: row.status,
    amount: row.amount,
    amount_decimal: toDecimalString(row.amount, row.currency),
    currency: row.currency,
  };
}

/**
 * The merchant a payment is tagged with, which decides who hears "payment received" and whose
 * revenue it is (docs/payments.md, "Merchant ids"). Paying a merchant is what users do, so a
 * user may name any merchant the platform knows (an unknown id is a 422). A merchant's staff
 * pay for their own merchant or for none: another merchant's id is a 403.
 */
async function payeeMerchant(deps: Deps, principal: Principal, named: string | null): Promise<string | null> {
  if (named === null) return null;
  if (principal.role === "merchant" && named !== principal.merchantId) {
    throw new ApiError("FORBIDDEN", "merchant_id must be your own merchant");
  }
  if (principal.role !== "merchant" && !(await merchantExists(deps.db, named))) {
    throw new ApiError("UNPROCESSABLE", "merchant_id names no known merchant", {
      details: [{ path: "merchant_id", message: "unknown merchant" }],
    });
  }
  return named;
}

/** The fields of a create-intent request that the stored row keeps, in a comparable form. */
function requestOf(x: {
  amount: number;
  currency: string;
  description?: string | null;
  order_id?: string | null;
  campaign_id?: string | null;
  merchant_id?: string | null;
  source?: string | null;
  metadata?: Record<string, string> | null;
}): string {
  const m = x.metadata ?? {};
  return JSON.stringify([
    x.amount,
    x.currency,
    x.description ?? null,
    x.order_id ?? null,
    x.campaign_id ?? null,
    x.merchant_id ?? null,
    x.source ?? null,
    Object.keys(m)
      .sort()
      .map((k) => [k, m[k]]),
  ]);
}

/**
 * A payment already exists for this (user, Idempotency-Key): the key stays bound to its
 * request for as long as the row lives, even after the 24 h replay window (and after
 * Stripe's own key expired). The same request gets the row and its existing intent back;
 * another request is a 409, never a second PaymentIntent beside the old row.
 */
async function existingIntent(deps: Deps, row: PaymentRow, input: CreateIntentInput) {
  const stored = requestOf({
    ...row,
    order_id: row.orderId,
    campaign_id: row.campaignId,
    merchant_id: row.merchantId,
  });
  if (stored !== requestOf(input)) {
    throw new ApiError("IDEMPOTENCY_CONFLICT", "Idempotency-Key was already used with a different request");
  }
  const piId = row.stripePaymentIntentId;
  if (!piId) throw new ApiError("CONFLICT", "Payment has no intent yet");
  const pi = await callStripe("payment intent retrieve", () => deps.stripe.paymentIntents.retrieve(piId));
  return intentView(row, pi);
}

async function loadRow(deps: Deps, id: string): Promise<PaymentRow> {
  const row = await deps.db.select().from(payments).where(eq(payments.id, id)).get();
  if (!row) throw notFound("Payment");
  return row;
}

/** Owner or admin; anyone else gets the same 404 as a missing id, so existence never leaks. */
export async function visiblePayment(deps: Deps, principal: Principal, id: string): Promise<PaymentRow> {
  const row = await deps.db.select().from(payments).where(eq(payments.id, id)).get();
  if (!row || !ownerOrAdmin(principal, row.userId)) throw notFound("Payment");
  return row;
}

/**
 * Server-side confirmation with a payment method, or (without one) a re-read after
 * Stripe.js confirmed on the client. Declines are 402 after the row is marked failed.
 */
export async function confirmPayment(deps: Deps, principal: Principal, input: ConfirmInput) {
  const row = await deps.db.select().from(payments).where(eq(payments.id, input.payment_id)).get();
  if (!row || row.userId !== principal.userId) throw notFound("Payment");
  const piId = row.stripePaymentIntentId;
  if (!piId) throw new ApiError("UNPROCESSABLE", "Payment has no intent yet");
  if (!isOpen(row.status)) {
    return { ...paymentView(row), next_action: null };
  }

  let pi: Stripe.PaymentIntent;
  const method = input.payment_method;
  if (method) {
    try {
      pi = await deps.stripe.paymentIntents.confirm(piId, { payment_method: method });
    } catch (err) {
      if (isUnexpectedState(err)) {
        // An earlier attempt whose answer never reached us (a timeout) already moved the
        // intent on: a retry reads where it is instead of failing with 422.
        pi = await callStripe("payment intent retrieve", () => deps.stripe.paymentIntents.retrieve(piId));
        return confirmedView(deps, row, pi);
      }
      if (!isCardError(err)) throw mapStripeError(err, "payment confirm");
      const failedPi =
        (err.payment_intent as Stripe.PaymentIntent | undefined) ??
        (await callStripe("payment intent retrieve", () => deps.stripe.paymentIntents.retrieve(piId)));
      const after = await applyIntent(deps, row, failedPi);
      throw new ApiError("PAYMENT_FAILED", err.message || "The card was declined", {
        details: {
          code: err.code ?? null,
          decline_code: err.decline_code || after.declineCode || null,
          payment_id: row.id,
        },
      });
    }
  } else {
    pi = await callStripe("payment intent retrieve", () => deps.stripe.paymentIntents.retrieve(piId));
  }
  return confirmedView(deps, row, pi);
}

/** Applies Stripe's intent to the row; a failed payment is a 402, otherwise the payment view. */
async function confirmedView(deps: Deps, row: PaymentRow, pi: Stripe.PaymentIntent) {
  const after = await applyIntent(deps, row, pi);
  if (after.status === "failed") {
    throw new ApiError("PAYMENT_FAILED", after.failureMessage ?? "The payment failed", {
      details: { code: after.failureCode, decline_code: after.declineCode, payment_id: row.id },
    });
  }
  const nextAction =
    after.status === "requires_action" ? (pi.next_action as Record<string, unknown> | null) : null;
  return { ...paymentView(after), next_action: nextAction ?? null };
}

export async function paymentDetail(deps: Deps, principal: Principal, id: string) {
  // One D1 round trip for the payment and its refunds; the refunds of a payment the caller
  // may not see are read and discarded, and the answer is the same 404 as before.
  const [found, rs] = await deps.db.batch([
    deps.db.select().from(payments).where(eq(payments.id, id)).limit(1),
    deps.db
      .select()
      .from(refunds)
      .where(eq(refunds.paymentId, id))
      .orderBy(asc(refunds.createdAt), asc(refunds.id)),
  ]);
  const row = found[0];
  if (!row || !ownerOrAdmin(principal, row.userId)) throw notFound("Payment");
  return { ...paymentView(row), receipt: receiptView(row), refunds: rs.map(refundView) };
}
