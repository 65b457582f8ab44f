import { and, eq, isNull } from "drizzle-orm";
import type Stripe from "stripe";
import { subscriptions } from "../db/schema";
import type { Deps } from "../platform/deps";
import { ApiError, notFound } from "../platform/errors";
import { newId } from "../platform/ids";
import type { Principal } from "../platform/types";
import { ownerOrAdmin } from "./access";
import { derivedUuid } from "./ids";
import { priceIdFor } from "./plan-prices";
import { monthlyValue, type Plan, planById } from "./plans";
import type { ChangeSubscriptionInput } from "./schemas";
import { callStripe, isCardError } from "./stripe-errors";
import { stripeRefused } from "./subscription-claims";
import { applySubscription, ENDED, fieldsFromStripe, type SubscriptionRow } from "./subscription-sync";
import { pendingChangeOf, subscriptionView } from "./views";

/**
 * Plan changes (docs/payments.md, "Plan changes"). The rule: an upgrade (a higher monthly
 * value) asked for `now` is prorated and charged at once (Stripe `proration_behavior=
 * always_invoice` on the existing item); anything asked for `next_period` goes through a
 * subscription schedule whose second phase starts at the period end, so nothing is charged
 * now; a downgrade asked for `now` is refused (422): the customer has paid for the period, and
 * crediting it back would leave a balance we never refund. The open change is claimed on the
 * row (`change_id`, a conditional UPDATE) before Stripe is called, so of two concurrent
 * requests one reaches Stripe and the other gets 409; the MRR movement is recorded by
 * applySubscription when the new plan reaches our row (from the API call's answer or a
 * webhook, whichever is first), and only then.
 */

/** An immediate change whose Stripe outcome never came back may be taken over after this. */
export const STALE_CHANGE_MS = 5 * 60_000;
const CLEARED = {
  changeId: null,
  pendingPlanId: null,
  pendingProration: null,
  pendingEffectiveAt: null,
  changeRequestedAt: null,
} as const;

const refuse = (code: "CONFLICT" | "UNPROCESSABLE", reason: string, message: string, extra = {}) =>
  new ApiError(code, message, { details: { reason, ...extra } });

type PaidPlan = Plan & { lookup_key: string };

function checkChangeable(row: SubscriptionRow): void {
  if (ENDED.includes(row.status))
    throw refuse("CONFLICT", "subscription_ended", "This subscription has ended; subscribe again instead");
  if (row.stripeSubscriptionId === null && row.amount > 0) {
    throw new ApiError("CONFLICT", "This subscription is still being set up; retry shortly", {
      headers: { "Retry-After": "5" },
      details: { reason: "setting_up" },
    });
  }
  if (row.stripeSubscriptionId === null)
    throw refuse(
      "UNPROCESSABLE",
      "free_subscription",
      "A free subscription is upgraded by subscribing to a paid plan",
    );
  if (row.status !== "active" && row.status !== "trialing")
    throw refuse(
      "CONFLICT",
      "not_active",
      `A ${row.status} subscription cannot change plans; settle its payment first`,
    );
  if (row.cancelAtPeriodEnd)
    throw refuse(
      "CONFLICT",
      "cancel_pending",
      "This subscription ends at the period end; resume it before changing plans",
    );
}

const isUpgrade = (row: SubscriptionRow, target: Plan) =>
  monthlyValue(target.amount, target.interval, row.quantity) >
  monthlyValue(row.amount, row.interval, row.quantity);

export async function changeSubscription(
  deps: Deps,
  principal: Principal,
  id: string,
  input: ChangeSubscriptionInput,
  clientKey: string | null,
) {
  const row = await deps.db.select().from(subscriptions).where(eq(subscriptions.id, id)).get();
  if (!row || !ownerOrAdmin(principal, row.userId)) throw notFound("Subscription");
  const plan = planById(input.plan);
  if (!plan) throw new ApiError("VALIDATION_FAILED", "Unknown plan");
  if (plan.lookup_key === null)
    throw refuse("UNPROCESSABLE", "free_plan", "To move to the free plan, cancel this subscription instead");
  const target: PaidPlan = { ...plan, lookup_key: plan.lookup_key };
  const changeId = clientKey
    ? await derivedUuid("subscription-change", row.id, principal.userId, clientKey)
    : newId();
  // A retry of the request that holds the claim (same Idempotency-Key) finishes its work.
  const claimed = row.changeId === changeId ? row : await claimChange(deps, row, target, input, changeId);
  return subscriptionView(
    claimed.pendingProration === "now"
      ? await changeNow(deps, claimed, target)
      : await changeLater(deps, claimed, target),
  );
}

async function claimChange(
  deps: Deps,
  row: SubscriptionRow,
  target: Plan,
  input: ChangeSubscriptionInput,
  changeId: string,
): Promise<SubscriptionRow> {
  checkChangeable(row);
  const t = Date.now();
  const stale =
    row.changeId !== null &&
    row.pendingProration === "now" &&
    (row.changeRequestedAt ?? 0) < t - STALE_CHANGE_MS;
  if (row.changeId !== null && !stale) {
    throw refuse("CONFLICT", "change_pending", "A plan change is already pending for this subscription", {
      pending_change: pendingChangeOf(row),
    });
  }
  if (target.id === row.planId)
    throw refuse("CONFLICT", "same_plan", `This subscription is already on ${target.id}`);
  const upgrade = isUpgrade(row, target);
  if (!upgrade && input.proration === "now") {
    throw refuse(
      "UNPROCESSABLE",
      "downgrade_now",
      "A downgrade takes effect at the period end; use proration next_period",
    );
  }
  const updated = await deps.db
    .update(subscriptions)
    .set({
      changeId,
      pendingPlanId: target.id,
      pendingProration: input.proration,
      pendingEffectiveAt: input.proration === "now" ? t : row.currentPeriodEnd,
      changeRequestedAt: t,
      updatedAt: Math.max(t, row.updatedAt + 1),
    })
    .where(
      and(
        eq(subscriptions.id, row.id),
        // The claim: only one open change per subscription (or the takeover of a stale one).
        stale && row.changeId ? eq(subscriptions.changeId, row.changeId) : isNull(subscriptions.changeId),
        eq(subscriptions.planId, row.planId),
      ),
    )
    .returning();
  const mine = updated[0];
  if (!mine) {
    const fresh = await load(deps, row.id);
    throw refuse("CONFLICT", "change_pending", "A plan change is already pending for this subscription", {
      pending_change: pendingChangeOf(fresh),
    });
  }
  return mine;
}

async function load(deps: Deps, id: string): Promise<SubscriptionRow> {
  const row = await deps.db.select().from(subscriptions).where(eq(subscriptions.id, id)).get();
  if (!row) throw notFound("Subscription");
  return row;
}

/** Gives the claim back after Stripe refused the change (nothing happened there). */
async function releaseChange(deps: Deps, row: SubscriptionRow): Promise<void> {
  if (!row.changeId) return;
  await deps.db
    .update(subscriptions)
    .set({ ...CLEARED, stripeScheduleId: row.stripeScheduleId, updatedAt: Date.now() })
    .where(and(eq(subscriptions.id, row.id), eq(subscriptions.changeId, row.changeId)));
}

/** Runs a Stripe call of a claimed change; a refusal frees the claim, an unknown outcome keeps it. */
async function atStripe<T>(
  deps: Deps,
  row: SubscriptionRow,
  context: string,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (stripeRefused(err)) await releaseChange(deps, row);
    if (isCardError(err)) {
      throw new ApiError("PAYMENT_FAILED", err.message || "The card was declined", {
        details: { code: err.code ?? null, decline_code: err.decline_code || null },
      });
    }
    return callStripe(context, () => Promise.reject(err));
  }
}

/** The new price on the existing item, prorated and invoiced now; a declined card changes nothing. */
async function changeNow(deps: Deps, row: SubscriptionRow, target: PaidPlan): Promise<SubscriptionRow> {
  const stripeId = row.stripeSubscriptionId ?? "";
  const priceId = await priceIdFor(deps, target);
  const current = await atStripe(deps, row, "subscription retrieve", () =>
    deps.stripe.subscriptions.retrieve(stripeId),
  );
  const item = current.items.data[0];
  let sub: Stripe.Subscription = current;
  // Already on the new price: an earlier attempt of this (or a taken-over) change landed.
  if (item && item.price.id !== priceId) {
    sub = await atStripe(deps, row, "subscription change", () =>
      deps.stripe.subscriptions.update(
        stripeId,
        {
          items: [{ id: item.id, price: priceId }],
          proration_behavior: "always_invoice",
          payment_behavior: "error_if_incomplete",
          metadata: { plan: target.id },
        },
        { idempotencyKey: `sub-change:${row.changeId}` },
      ),
    );
  }
  return applySubscription(
    deps,
    row,
    { ...fieldsFromStripe(sub, row), ...CLEARED },
    `sub.change:${row.changeId}`,
  );
}

/**
 * A schedule from the subscription, then its phases: the current one as it is until the
 * period end, then the new plan. `from_subscription` cannot carry phases (Stripe refuses other
 * parameters with it), hence two calls, each with a key derived from the change.
 */
async function changeLater(deps: Deps, row: SubscriptionRow, target: PaidPlan): Promise<SubscriptionRow> {
  const stripeId = row.stripeSubscriptionId ?? "";
  const key = row.changeId ?? "";
  const priceId = await priceIdFor(deps, target);
  const sub = await atStripe(deps, row, "subscription retrieve", () =>
    deps.stripe.subscriptions.retrieve(stripeId),
  );
  const item = sub.items.data[0];
  if (!item) throw new ApiError("UPSTREAM_FAILED", "The Stripe subscription has no item");
  // One schedule per subscription: an open one (a retry of this change, or an earlier change
  // still in its last phase) gets the new phases instead of a second schedule.
  let scheduleId = typeof sub.schedule === "string" ? sub.schedule : (sub.schedule?.id ?? null);
  if (scheduleId === null) {
    const created = await atStripe(deps, row, "schedule create", () =>
      deps.stripe.subscriptionSchedules.create(
        { from_subscription: stripeId },
        { idempotencyKey: `sched:${key}` },
      ),
    );
    scheduleId = created.id;
  }
  const schedule = scheduleId;
  const updated = await atStripe(deps, row, "schedule update", () =>
    deps.stripe.subscriptionSchedules.update(
      schedule,
      {
        end_behavior: "release",
        proration_behavior: "none",
        metadata: { subscription_id: row.id, change_id: key, plan: target.id },
        phases: [
          {
            items: [{ price: item.price.id, quantity: item.quantity ?? 1 }],
            start_date: item.current_period_start,
            end_date: item.current_period_end,
          },
          {
            items: [{ price: priceId, quantity: item.quantity ?? 1 }],
            duration: { interval: target.interval, interval_count: 1 },
            proration_behavior: "none",
          },
        ],
      },
      { idempotencyKey: `sched-phases:${key}` },
    ),
  );
  const effectiveAt = (updated.phases[1]?.start_date ?? item.current_period_end) * 1000;
  const rows = await deps.db
    .update(subscriptions)
    .set({
      stripeScheduleId: schedule,
      pendingEffectiveAt: effectiveAt,
      updatedAt: Math.max(Date.now(), row.updatedAt + 1),
    })
    .where(and(eq(subscriptions.id, row.id), eq(subscriptions.changeId, key)))
    .returning();
  return rows[0] ?? load(deps, row.id);
}

/**
 * Called after a webhook synced the row: once the row's plan is the pending one, the change
 * has taken effect at Stripe and the claim is cleared (conditional, so a replay clears
 * nothing and a newer change's claim is never touched).
 */
export async function settleChange(deps: Deps, row: SubscriptionRow): Promise<void> {
  if (row.changeId === null) return;
  const ended = ENDED.includes(row.status);
  if (!ended && row.pendingPlanId !== row.planId) return;
  await deps.db
    .update(subscriptions)
    .set({ ...CLEARED, updatedAt: Math.max(Date.now(), row.updatedAt + 1) })
    .where(
      and(
        eq(subscriptions.id, row.id),
        eq(subscriptions.changeId, row.changeId),
        ended ? undefined : eq(subscriptions.planId, row.planId),
      ),
    );
}

/**
 * Before a cancel at period end: Stripe refuses `cancel_at_period_end` on a subscription a
 * schedule manages ("updating any cancelation behavior directly is not allowed"), and the
 * schedule's next phase would otherwise still start. So the schedule is released first (the
 * subscription stays as it is; key per schedule, so a retry replays it) and a change pending
 * at the period end is withdrawn. An immediate change in flight keeps its claim. Returns the
 * row as it is now.
 */
export async function withdrawScheduledChange(
  deps: Deps,
  row: SubscriptionRow,
  stripeId: string,
): Promise<SubscriptionRow> {
  if (row.stripeScheduleId === null && row.pendingProration !== "next_period") return row;
  const sub = await callStripe("subscription retrieve", () => deps.stripe.subscriptions.retrieve(stripeId));
  const scheduleId = typeof sub.schedule === "string" ? sub.schedule : (sub.schedule?.id ?? null);
  if (scheduleId !== null) {
    await callStripe("schedule release", () =>
      deps.stripe.subscriptionSchedules.release(
        scheduleId,
        {},
        { idempotencyKey: `sched-release:${scheduleId}` },
      ),
    );
  }
  const laterChange = row.changeId !== null && row.pendingProration === "next_period";
  await deps.db
    .update(subscriptions)
    .set({
      ...(laterChange ? CLEARED : {}),
      stripeScheduleId: null,
      updatedAt: Math.max(Date.now(), row.updatedAt + 1),
    })
    .where(
      and(
        eq(subscriptions.id, row.id),
        row.changeId === null ? isNull(subscriptions.changeId) : eq(subscriptions.changeId, row.changeId),
      ),
    );
  return load(deps, row.id);
}
