import { and, eq, inArray, isNotNull, isNull, sql } from "drizzle-orm";
import type Stripe from "stripe";
import { subscriptions } from "../db/schema";
import { publish } from "../events/publish";
import type { Deps } from "../platform/deps";
import { isMissing, mapStripeError } from "./stripe-errors";
import { ref } from "./stripe-objects";
import type { SubscriptionRow } from "./subscription-sync";

/**
 * Dunning state (docs/payments.md, "Dunning"). Stripe decides the status; we follow it after
 * every sync: past_due starts dunning once (its start is the grace clock) and notifies once
 * per open invoice; active again ends it. Stripe's copy is always re-read first, so a late or
 * replayed invoice.payment_failed after the invoice was paid changes nothing.
 */

export const DAY_MS = 86_400_000;

/** Each dunning write moves updated_at, so applySubscription's optimistic update retries rather than writing back stale columns. */
const touch = (t: number) => sql`max(${subscriptions.updatedAt} + 1, ${t})`;

export const graceEndsAt = (deps: Deps, startedAt: number) =>
  startedAt + deps.config.DUNNING_GRACE_DAYS * DAY_MS;

export const paymentMethodUrl = (deps: Deps, subscriptionId: string) =>
  new URL(`/account/billing?subscription=${encodeURIComponent(subscriptionId)}`, deps.config.APP_URL).href;

/** After `row` was synced from `sub` (Stripe's current copy): start or end dunning to match. */
export async function followDunning(
  deps: Deps,
  row: SubscriptionRow,
  sub: Stripe.Subscription,
): Promise<void> {
  if (sub.status === "past_due") await startDunning(deps, row, ref(sub.latest_invoice));
  else if (sub.status === "active" || sub.status === "trialing") await endDunning(deps, row.id);
}

async function startDunning(deps: Deps, row: SubscriptionRow, invoiceId: string | null) {
  if (!invoiceId) return;
  let inv: Stripe.Invoice;
  try {
    inv = await deps.stripe.invoices.retrieve(invoiceId);
  } catch (err) {
    // Deleted at Stripe (or never there): nothing to dun for; anything else is retried.
    if (isMissing(err)) return;
    throw mapStripeError(err, "invoice retrieve");
  }
  // Paid (or voided) since: the event that brought us here is stale.
  if (inv.status !== "open") return;
  const t = Date.now();
  await deps.db
    .update(subscriptions)
    .set({ dunningStartedAt: t, updatedAt: touch(t) })
    .where(
      and(
        eq(subscriptions.id, row.id),
        eq(subscriptions.status, "past_due"),
        isNull(subscriptions.dunningStartedAt),
      ),
    );
  const fresh = await deps.db.select().from(subscriptions).where(eq(subscriptions.id, row.id)).get();
  if (fresh?.status !== "past_due" || fresh.dunningStartedAt === null) return;
  // One notification per failed invoice: Stripe's retries of the same invoice reuse the id.
  await publish(deps, {
    id: `subscription.payment_failed:${inv.id}`,
    type: "subscription.payment_failed",
    data: {
      subscription_id: fresh.id,
      user_id: fresh.userId,
      invoice_id: inv.id,
      amount: inv.amount_remaining,
      currency: inv.currency,
      plan: fresh.planId,
      grace_ends_at: graceEndsAt(deps, fresh.dunningStartedAt),
      update_url: paymentMethodUrl(deps, fresh.id),
    },
    source: "payments",
  });
}

/** Paid again: the episode is over (a later failure starts a new one with a new clock). */
export async function endDunning(deps: Deps, id: string): Promise<void> {
  const t = Date.now();
  await deps.db
    .update(subscriptions)
    .set({ dunningStartedAt: null, dunningCancelClaimedAt: null, updatedAt: touch(t) })
    .where(
      and(
        eq(subscriptions.id, id),
        isNotNull(subscriptions.dunningStartedAt),
        inArray(subscriptions.status, ["active", "trialing"]),
      ),
    );
}
