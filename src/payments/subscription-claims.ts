import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import Stripe from "stripe";
import { subscriptions } from "../db/schema";
import type { Deps } from "../platform/deps";
import { ApiError } from "../platform/errors";
import type { SubscriptionRow } from "./subscription-sync";

/** Statuses that hold the user's slot (migrations/0008, index subscriptions_one_live). */
export const LIVE = ["active", "trialing", "past_due", "incomplete", "unpaid", "paused"];

/** Plan-change columns (migrations/0015) start empty on a new subscription. */
type ChangeColumns =
  | "changeId"
  | "pendingPlanId"
  | "pendingProration"
  | "pendingEffectiveAt"
  | "changeRequestedAt"
  | "stripeScheduleId";

export type ClaimInput = Omit<
  SubscriptionRow,
  | "stripeSubscriptionId"
  | "stripeCustomerId"
  | "currentPeriodStart"
  | "dunningStartedAt"
  | "dunningCancelClaimedAt"
  | ChangeColumns
> &
  Partial<Pick<SubscriptionRow, "currentPeriodStart" | ChangeColumns>>;

/**
 * Writes our row before Stripe is called: the partial unique index makes it the one live
 * paid (or free) subscription of the user, so of two concurrent requests exactly one gets
 * the row and the other a 409 before anything exists at Stripe. The same id again (a retry
 * with the same Idempotency-Key) gets its own row back, to finish what it started.
 */
export async function claimSlot(deps: Deps, input: ClaimInput): Promise<SubscriptionRow> {
  await deps.db
    .insert(subscriptions)
    .values({ currentPeriodStart: null, ...input })
    .onConflictDoNothing();
  const own = await deps.db.select().from(subscriptions).where(eq(subscriptions.id, input.id)).get();
  if (own && own.userId === input.userId && own.planId === input.planId) return own;
  const paid = input.amount > 0;
  const live = await deps.db
    .select({ id: subscriptions.id })
    .from(subscriptions)
    .where(
      and(
        eq(subscriptions.userId, input.userId),
        inArray(subscriptions.status, LIVE),
        sql`(${subscriptions.amount} > 0) = ${paid ? 1 : 0}`,
      ),
    );
  throw new ApiError("CONFLICT", "You already have a live subscription; cancel it first", {
    details: { subscription_ids: live.map((s) => s.id) },
  });
}

/**
 * Frees the slot of a claim that Stripe never got a subscription for. With `seenAt` (the
 * claim's `updated_at` when the caller read Stripe) only if nothing took the claim up since:
 * a retry that touched it (takeClaim) may be creating the Stripe subscription right now.
 * Returns whether the row was deleted.
 */
export async function releaseClaim(deps: Deps, id: string, seenAt?: number): Promise<boolean> {
  const rows = await deps.db
    .delete(subscriptions)
    .where(
      and(
        eq(subscriptions.id, id),
        isNull(subscriptions.stripeSubscriptionId),
        seenAt === undefined ? undefined : eq(subscriptions.updatedAt, seenAt),
      ),
    )
    .returning({ id: subscriptions.id });
  return rows.length === 1;
}

/**
 * Marks a claim as being worked on by this request (its `updated_at` moves), before Stripe is
 * called: the reconciler skips claims touched recently and releases one only if it is
 * unchanged since it read Stripe, so it can never delete the row of a retry in flight.
 */
export async function takeClaim(deps: Deps, claim: SubscriptionRow): Promise<void> {
  await deps.db
    .update(subscriptions)
    .set({ updatedAt: Math.max(Date.now(), claim.updatedAt + 1) })
    .where(and(eq(subscriptions.id, claim.id), isNull(subscriptions.stripeSubscriptionId)));
}

/**
 * True when Stripe certainly did not create the subscription: it refused the request (card,
 * validation). A 5xx, a timeout, `idempotency_key_in_use`, an idempotency mismatch (an earlier
 * request under the same key may have created it) or a 429 (it may be the SDK's retry of a
 * first attempt that ran) leaves the outcome unknown: the claim stays, so a retry with the same
 * key completes it, and the reconciler settles it otherwise (it releases a claim Stripe has
 * nothing for). Releasing on those let a second live subscription be created (issue 12 review).
 */
export function stripeRefused(err: unknown): boolean {
  return (
    err instanceof Stripe.errors.StripeCardError ||
    err instanceof Stripe.errors.StripeInvalidRequestError ||
    err instanceof Stripe.errors.StripeAuthenticationError ||
    err instanceof Stripe.errors.StripePermissionError ||
    err instanceof ApiError
  );
}
