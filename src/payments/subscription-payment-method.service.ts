import { eq } from "drizzle-orm";
import Stripe from "stripe";
import { subscriptions } from "../db/schema";
import type { Deps } from "../platform/deps";
import { ApiError, notFound } from "../platform/errors";
import { toDecimalString } from "../platform/money";
import type { Principal } from "../platform/types";
import { ownerOrAdmin } from "./access";
import { followDunning } from "./dunning";
import { releaseCancelLease, takeCancelLease } from "./dunning-lease";
import { derivedUuid } from "./ids";
import type { UpdatePaymentMethodView } from "./schemas";
import { callStripe, isCardError, mapStripeError } from "./stripe-errors";
import { ENDED, type SubscriptionRow, syncFromStripe } from "./subscription-sync";
import { subscriptionView } from "./views";
import { recordInvoicePayment } from "./webhooks/invoices";

type Keys = (step: string) => Stripe.RequestOptions;

/**
 * POST /subscriptions/{id}/payment-method. The method is attached to the customer; when the
 * subscription is past_due its open invoice is paid with it *before* it becomes a default, so
 * a declined card changes nothing anywhere (402). Then it becomes the subscription's and the
 * customer's default (Stripe retries the subscription's first, smart-retries docs), the row is
 * synced and the invoice recorded as a payment (id derived from the invoice, so the invoice.paid
 * webhook adds nothing). Stripe pays an invoice once: a concurrent request that lost is 409.
 * Not past_due (active, trialing): only the default changes.
 */
export async function updatePaymentMethod(
  deps: Deps,
  principal: Principal,
  id: string,
  paymentMethod: string,
  clientKey: string | null,
): Promise<UpdatePaymentMethodView> {
  const row = await deps.db.select().from(subscriptions).where(eq(subscriptions.id, id)).get();
  if (!row || !ownerOrAdmin(principal, row.userId)) throw notFound("Subscription");
  const { stripeSubscriptionId: stripeId, stripeCustomerId: customer } = row;
  if (ENDED.includes(row.status))
    throw new ApiError("CONFLICT", `This subscription is ${row.status}`, {
      details: { code: "subscription_ended" },
    });
  if (row.amount === 0)
    throw new ApiError("UNPROCESSABLE", "A free subscription has no payment method", {
      details: { code: "free_plan" },
    });
  if (!stripeId || !customer)
    throw new ApiError("CONFLICT", "This subscription is still being set up; retry shortly", {
      headers: { "Retry-After": "5" },
    });
  // Stripe keys only under the client's Idempotency-Key: a fixed key per method would replay a
  // stale answer when the same card is chosen again later.
  const scope = clientKey ? await derivedUuid("pm-update", row.id, principal.userId, clientKey) : null;
  const keys: Keys = (step) => (scope ? { idempotencyKey: `pm-update:${scope}:${step}` } : {});

  const pm = await callStripe("payment method attach", () =>
    deps.stripe.paymentMethods.attach(paymentMethod, { customer }, keys("attach")),
  );
  const before = await callStripe("subscription retrieve", () =>
    deps.stripe.subscriptions.retrieve(stripeId),
  );
  // Ended at Stripe since our row was read (the grace-period cron just cancelled it): the same 409.
  if (ENDED.includes(before.status))
    throw new ApiError("CONFLICT", `This subscription is ${before.status}`, {
      details: { code: "subscription_ended" },
    });
  const openInvoice = before.status === "past_due" ? refOf(before.latest_invoice) : null;
  const target: Target = { stripeId, customer, pmId: pm.id };
  if (!openInvoice) return setDefaults(deps, row, target, null, keys);
  // The grace-period cron cancels a past_due subscription it has read from Stripe; paying
  // while it does would bill a subscription it then cancels. Both take the same lease.
  const leased = await takeCancelLease(deps, row.id);
  try {
    const paid = await payInvoice(deps, leased, openInvoice, pm.id, keys);
    return await setDefaults(deps, leased, target, paid, keys);
  } finally {
    await releaseCancelLease(deps, leased);
  }
}

type Target = { stripeId: string; customer: string; pmId: string };

/** The method becomes both defaults; the row is synced, dunning followed, the payment recorded. */
async function setDefaults(
  deps: Deps,
  row: SubscriptionRow,
  { stripeId, customer, pmId }: Target,
  paid: Stripe.Invoice | null,
  keys: Keys,
): Promise<UpdatePaymentMethodView> {
  const { id } = row;
  const pm = { id: pmId };

  await callStripe("subscription default", () =>
    deps.stripe.subscriptions.update(stripeId, { default_payment_method: pm.id }, keys("sub-default")),
  );
  await callStripe("customer default", () =>
    deps.stripe.customers.update(
      customer,
      { invoice_settings: { default_payment_method: pm.id } },
      keys("cus-default"),
    ),
  );
  const after = await callStripe("subscription retrieve", () => deps.stripe.subscriptions.retrieve(stripeId));
  const synced = await syncFromStripe(deps, row, after, `sub.payment-method:${paid?.id ?? pm.id}`);
  await followDunning(deps, synced, after);
  if (paid) await recordInvoicePayment(deps, paid, row.userId, row.planId);
  const fresh = await deps.db.select().from(subscriptions).where(eq(subscriptions.id, id)).get();
  return {
    subscription: subscriptionView(fresh ?? synced),
    paid_invoice: paid?.id
      ? {
          invoice_id: paid.id,
          amount: paid.amount_paid,
          amount_decimal: toDecimalString(paid.amount_paid, paid.currency),
          currency: paid.currency,
        }
      : null,
  };
}

const refOf = (v: string | Stripe.Invoice | null): string | null =>
  typeof v === "string" ? v : (v?.id ?? null);

async function payInvoice(
  deps: Deps,
  row: SubscriptionRow,
  invoiceId: string,
  pmId: string,
  keys: Keys,
): Promise<Stripe.Invoice> {
  try {
    return await deps.stripe.invoices.pay(
      invoiceId,
      { payment_method: pmId, off_session: true },
      keys("pay"),
    );
  } catch (err) {
    if (isCardError(err)) {
      throw new ApiError("PAYMENT_FAILED", err.message || "The card was declined", {
        details: {
          code: err.code ?? null,
          decline_code: err.decline_code || null,
          subscription_id: row.id,
          invoice_id: invoiceId,
        },
      });
    }
    // Stripe answers a paid invoice with this message and no code (InvoicePayParams has none).
    if (err instanceof Stripe.errors.StripeInvalidRequestError && /already paid/i.test(err.message)) {
      throw new ApiError("CONFLICT", "The open invoice was paid by another request", {
        details: { code: "invoice_already_paid", invoice_id: invoiceId },
      });
    }
    throw mapStripeError(err, "invoice pay");
  }
}
