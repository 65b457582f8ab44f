import type Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { bodyOf } from "../helpers/body";
import { expectEnvelope, postJson } from "../helpers/http";
import { advanceSubscription, injectFault, stripeClient } from "../helpers/stripe";
import { changePlan, deliverAllFor, movementsOf, newCaller, subscribed, subscriptionRow } from "./helpers";

const stripe = stripeClient();
const kinds = async (id: string) =>
  (await movementsOf(id)).map((m) => [m.kind, m.mrrBefore, m.mrrAfter]).sort();

const cancel = (caller: { headers: Record<string, string> }, id: string, atPeriodEnd: boolean) =>
  postJson(`/api/v1/subscriptions/${id}/cancel`, { at_period_end: atPeriodEnd }, caller.headers);

async function pendingDowngrade() {
  const user = await newCaller("user");
  const { sub, stripeId } = await subscribed(user, "pro_monthly");
  const res = await changePlan(user, sub.subscription_id, {
    plan: "basic_monthly",
    proration: "next_period",
  });
  const pending = await bodyOf(res, "POST /subscriptions/:id/change", 200);
  expect(pending.pending_change?.plan).toBe("basic_monthly");
  const scheduleId = String((await stripe.subscriptions.retrieve(stripeId)).schedule);
  return { user, sub, stripeId, scheduleId };
}

describe("a pending plan change, then a cancel", () => {
  it("cancel at period end releases the schedule: the downgrade never starts, the subscription ends, one churn", async () => {
    const { user, sub, stripeId, scheduleId } = await pendingDowngrade();

    const res = await cancel(user, sub.subscription_id, true);
    const body = await bodyOf(res, "POST /subscriptions/:id/cancel", 200);
    expect(body).toMatchObject({ plan: "pro_monthly", cancel_at_period_end: true, pending_change: null });
    const atStripe = await stripe.subscriptions.retrieve(stripeId);
    expect(atStripe).toMatchObject({ cancel_at_period_end: true, schedule: null });
    expect(await stripe.subscriptionSchedules.retrieve(scheduleId)).toMatchObject({
      status: "released",
      released_subscription: stripeId,
    });
    expect(await subscriptionRow(sub.subscription_id)).toMatchObject({
      changeId: null,
      pendingPlanId: null,
      stripeScheduleId: null,
    });

    // A replay of the cancel (the schedule is gone by then) is the same answer.
    const again = await bodyOf(
      await cancel(user, sub.subscription_id, true),
      "POST /subscriptions/:id/cancel",
      200,
    );
    expect(again).toMatchObject({ cancel_at_period_end: true, pending_change: null });

    await deliverAllFor(stripeId);
    await advanceSubscription(stripeId);
    await deliverAllFor(stripeId);
    const ended = await stripe.subscriptions.retrieve(stripeId);
    expect(ended.status).toBe("canceled");
    expect(ended.items.data[0]?.price.lookup_key).toBe("pro_monthly");
    expect(await subscriptionRow(sub.subscription_id)).toMatchObject({
      status: "canceled",
      planId: "pro_monthly",
    });
    expect(await kinds(sub.subscription_id)).toEqual([
      ["churn", 2900, 0],
      ["new", 0, 2900],
    ]);
  });

  it("two parallel cancels at period end: no 5xx, the schedule released once, the cancel set", async () => {
    const { user, sub, stripeId, scheduleId } = await pendingDowngrade();
    const answers = await Promise.all([
      cancel(user, sub.subscription_id, true),
      cancel(user, sub.subscription_id, true),
    ]);
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses.every((s) => s === 200 || s === 409)).toBe(true);
    expect(statuses).toContain(200);
    expect(await stripe.subscriptions.retrieve(stripeId)).toMatchObject({
      cancel_at_period_end: true,
      schedule: null,
    });
    expect((await stripe.subscriptionSchedules.retrieve(scheduleId)).status).toBe("released");
    expect(await subscriptionRow(sub.subscription_id)).toMatchObject({
      changeId: null,
      cancelAtPeriodEnd: true,
    });
  });

  it("a cancel that fails after the release: an error, no pending change left, and the retry sets the cancel", async () => {
    const { user, sub, stripeId, scheduleId } = await pendingDowngrade();
    await injectFault({
      path_prefix: `/v1/subscriptions/${stripeId}`,
      method: "POST",
      body_contains: "cancel_at_period_end",
      status: 500,
      count: 2, // the SDK's one retry too
    });
    const failed = await cancel(user, sub.subscription_id, true);
    expect(failed.status).toBeGreaterThanOrEqual(500);
    const err = await expectEnvelope(failed, failed.status);
    expect(err.error.code).toMatch(/^UPSTREAM_/);
    expect((await stripe.subscriptionSchedules.retrieve(scheduleId)).status).toBe("released");
    expect(await subscriptionRow(sub.subscription_id)).toMatchObject({
      changeId: null,
      cancelAtPeriodEnd: false,
    });

    const retried = await cancel(user, sub.subscription_id, true);
    expect(await bodyOf(retried, "POST /subscriptions/:id/cancel", 200)).toMatchObject({
      cancel_at_period_end: true,
      pending_change: null,
    });
    expect((await stripe.subscriptions.retrieve(stripeId)).cancel_at_period_end).toBe(true);
  });

  it("cancel now ends the subscription and its schedule; the pending change is gone", async () => {
    const { user, sub, stripeId, scheduleId } = await pendingDowngrade();
    const body = await bodyOf(
      await cancel(user, sub.subscription_id, false),
      "POST /subscriptions/:id/cancel",
      200,
    );
    expect(body).toMatchObject({ status: "canceled", pending_change: null });
    expect(await stripe.subscriptionSchedules.retrieve(scheduleId)).toMatchObject({ status: "canceled" });
    await deliverAllFor(stripeId);
    expect(await subscriptionRow(sub.subscription_id)).toMatchObject({ status: "canceled", changeId: null });
    expect(await kinds(sub.subscription_id)).toEqual([
      ["churn", 2900, 0],
      ["new", 0, 2900],
    ]);
  });
});

describe("an upgrade now with a declined card", () => {
  it("is 402 with the decline code; nothing changes here or at Stripe, and the claim is free again", async () => {
    const user = await newCaller("user");
    const { sub, stripeId } = await subscribed(user, "pro_monthly");
    const before = await stripe.subscriptions.retrieve(stripeId);
    const customer = typeof before.customer === "string" ? before.customer : before.customer.id;
    const declining = await stripe.paymentMethods.attach("pm_card_chargeDeclined", { customer });
    await stripe.subscriptions.update(stripeId, { default_payment_method: declining.id });
    await deliverAllFor(stripeId);

    const res = await changePlan(user, sub.subscription_id, { plan: "business_monthly", proration: "now" });
    const err = await expectEnvelope(res, 402, "PAYMENT_FAILED");
    expect(err.error.details).toMatchObject({ code: "card_declined" });

    const atStripe: Stripe.Subscription = await stripe.subscriptions.retrieve(stripeId);
    expect(atStripe.items.data[0]?.price.lookup_key).toBe("pro_monthly");
    expect(atStripe.latest_invoice).toBe(before.latest_invoice);
    await deliverAllFor(stripeId);
    expect(await subscriptionRow(sub.subscription_id)).toMatchObject({
      planId: "pro_monthly",
      amount: 2900,
      changeId: null,
      pendingPlanId: null,
    });
    expect(await kinds(sub.subscription_id)).toEqual([["new", 0, 2900]]);

    // With a working card again the same upgrade goes through.
    const visa = await stripe.paymentMethods.attach("pm_card_visa", { customer });
    await stripe.subscriptions.update(stripeId, { default_payment_method: visa.id });
    const ok = await changePlan(user, sub.subscription_id, { plan: "business_monthly", proration: "now" });
    expect(await bodyOf(ok, "POST /subscriptions/:id/change", 200)).toMatchObject({
      plan: "business_monthly",
    });
  });
});
