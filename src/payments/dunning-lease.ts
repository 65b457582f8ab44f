import { and, eq, isNull, lt, or, sql } from "drizzle-orm";
import { subscriptions } from "../db/schema";
import type { Deps } from "../platform/deps";
import { ApiError } from "../platform/errors";
import type { SubscriptionRow } from "./subscription-sync";

/**
 * `dunning_cancel_claimed_at` is one lease shared by the grace-period cron (cancelling) and
 * POST /subscriptions/{id}/payment-method (paying the open invoice): whichever takes it first
 * acts, so a subscription is never paid and then cancelled by a run that read it past_due.
 */

/** Longer than one cron run or one card update takes, shorter than the 5-minute cron interval. */
export const CANCEL_LEASE_MS = 4 * 60_000;

export const leaseFree = (now: number) =>
  or(
    isNull(subscriptions.dunningCancelClaimedAt),
    lt(subscriptions.dunningCancelClaimedAt, now - CANCEL_LEASE_MS),
  );

/** Every lease write moves updated_at, so a sync holding an older row retries instead of writing it back. */
const touch = (t: number) => sql`max(${subscriptions.updatedAt} + 1, ${t})`;

/** The card update's side: 409 (retry shortly) while the cron or another update holds it. */
export async function takeCancelLease(deps: Deps, id: string): Promise<SubscriptionRow> {
  const now = Date.now();
  const [leased] = await deps.db
    .update(subscriptions)
    .set({ dunningCancelClaimedAt: now, updatedAt: touch(now) })
    .where(and(eq(subscriptions.id, id), leaseFree(now)))
    .returning();
  if (!leased)
    throw new ApiError("CONFLICT", "This subscription's open invoice is being settled; retry shortly", {
      headers: { "Retry-After": "5" },
      details: { code: "dunning_in_progress" },
    });
  return leased;
}

/** Gives back only our own lease (a cron that took an expired one keeps its own). */
export async function releaseCancelLease(deps: Deps, leased: SubscriptionRow): Promise<void> {
  const mine = leased.dunningCancelClaimedAt;
  if (mine === null) return;
  await deps.db
    .update(subscriptions)
    .set({ dunningCancelClaimedAt: null, updatedAt: touch(Date.now()) })
    .where(and(eq(subscriptions.id, leased.id), eq(subscriptions.dunningCancelClaimedAt, mine)));
}
