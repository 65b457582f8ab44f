import { eq } from "drizzle-orm";
import type Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { payments, subscriptions } from "../../src/db/schema";
import { STALE_CHANGE_MS } from "../../src/payments/subscription-change.service";
import { getReport } from "../analytics/helpers";
import { bodyOf } from "../helpers/body";
import { expectEnvelope, postJson } from "../helpers/http";
import { advanceSubscription, emulatorRequests, injectFault, stripeClient } from "../helpers/stripe";
import {
  changePlan,
  db,
  deliverAllFor,
  movementsOf,
  newCaller,
  subscribed,
  subscriptionRow,
} from "./helpers";

const stripe = stripeClient();

/** Stripe updates / schedule creations this test's subscription really caused (not replays). */
async function stripeWrites(stripeId: string) {
  const log = await emulatorRequests({ path_prefix: "/v1/subscription" });
  const real = log.filter((r) => r.method === "POST" && r.status === 200 && !r.replayed);
  return {
    updates: real.filter((r) => r.path === `/v1/subscriptions/${stripeId}` && r.params.items !== undefined),
    schedules: real.filter(
      (r) => r.path === "/v1/subscription_schedules" && r.params.from_subscription === stripeId,
    ),
  };
}

const kinds = async (id: string) => (await movementsOf(id)).map((m) => [m.kind, m.mrrBefore, m.mrrAfter]);

async function revenueMovements(from: number) {
  const admin = await newCaller("admin");
  const report = await getReport<{
    mrr_movements: Array<{
      currency: string;
      expansion: number;
      contraction: number;
      counts: Record<string, number>;
    }>;
  }>("revenue", admin.token, {
    from: new Date(from).toISOString(),
    to: new Date(Date.now() + 60_000).toISOString(),
    interval: "day",
  });
  return report.mrr_movements.find((m) => m.currency === "usd");
}

describe("POST /subscriptions/:id/change", () => {
  it("upgrades now: a prorated invoice is paid, the plan and amount change, one expansion, in the revenue report", async () => {
    const t0 = Date.now();
    const user = await newCaller("user");
    const { sub, stripeId } = await subscribed(user, "pro_monthly");
    const before = await revenueMovements(t0);

    const res = await changePlan(user, sub.subscription_id, { plan: "business_monthly", proration: "now" });
    const changed = await bodyOf(res, "POST /subscriptions/:id/change", 200);
    expect(changed).toMatchObject({
      plan: "business_monthly",
      amount: 9900,
      mrr: 9900,
      status: "active",
      pending_change: null,
    });
    expect(changed.current_period_end).toBe(sub.current_period_end);

    // Stripe: the new price on the same item, and an invoice of two proration lines, paid now.
    const atStripe = await stripe.subscriptions.retrieve(stripeId);
    expect(atStripe.items.data[0]?.price.lookup_key).toBe("business_monthly");
    const invoice = await stripe.invoices.retrieve(String(atStripe.latest_invoice));
    expect(invoice.billing_reason).toBe("subscription_update");
    expect(invoice.status).toBe("paid");
    const lines = invoice.lines.data;
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => l.parent?.subscription_item_details?.proration === true)).toBe(true);
    const [credit, charge] = lines.map((l) => l.amount);
    expect(credit).toBeLessThan(0);
    expect(credit).toBeGreaterThanOrEqual(-2900);
    expect(charge).toBeGreaterThan(0);
    expect(charge).toBeLessThanOrEqual(9900);
    // Prorated: the difference for what is left of the period, a fraction of the full 7000.
    expect(invoice.amount_paid).toBe((credit ?? 0) + (charge ?? 0));
    expect(invoice.amount_paid).toBeGreaterThan(0);
    expect(invoice.amount_paid).toBeLessThanOrEqual(7000);

    // Webhooks (customer.subscription.updated, invoice.paid), twice: one movement, one payment.
    await deliverAllFor(stripeId);
    await deliverAllFor(stripeId);
    expect((await kinds(sub.subscription_id)).sort()).toEqual([
      ["expansion", 2900, 9900],
      ["new", 0, 2900],
    ]);
    const paid = await db().select().from(payments).where(eq(payments.userId, user.sub));
    expect(paid.map((p) => p.amount).sort((a, b) => a - b)).toEqual(
      [2900, invoice.amount_paid].sort((a, b) => a - b),
    );

    const after = await revenueMovements(t0);
    expect((after?.counts.expansion ?? 0) - (before?.counts.expansion ?? 0)).toBeGreaterThanOrEqual(1);
    expect((after?.expansion ?? 0) - (before?.expansion ?? 0)).toBeGreaterThanOrEqual(7000);
  });

  it("downgrades at the period end: pending shown, nothing charged, the plan switches at renewal, one contraction", async () => {
    const user = await newCaller("user");
    const { sub, stripeId } = await subscribed(user, "pro_monthly");
    const latestBefore = (await stripe.subscriptions.retrieve(stripeId)).latest_invoice;

    const res = await changePlan(user, sub.subscription_id, {
      plan: "basic_monthly",
      proration: "next_period",
    });
    const pending = await bodyOf(res, "POST /subscriptions/:id/change", 200);
    expect(pending).toMatchObject({ plan: "pro_monthly", amount: 2900, mrr: 2900 });
    expect(pending.pending_change).toEqual({
      plan: "basic_monthly",
      proration: "next_period",
      effective_at: sub.current_period_end,
    });
    const atStripe = await stripe.subscriptions.retrieve(stripeId);
    expect(atStripe.latest_invoice).toBe(latestBefore); // nothing charged
    expect(atStripe.items.data[0]?.price.lookup_key).toBe("pro_monthly");
    const schedule = await stripe.subscriptionSchedules.retrieve(String(atStripe.schedule));
    expect(schedule).toMatchObject({
      object: "subscription_schedule",
      status: "active",
      end_behavior: "release",
    });
    expect(schedule.phases).toHaveLength(2);
    expect(schedule.phases[1]?.start_date).toBe(atStripe.items.data[0]?.current_period_end);

    await deliverAllFor(stripeId);
    const listed = await expectEnvelope(
      await changePlan(user, sub.subscription_id, { plan: "pro_yearly", proration: "next_period" }),
      409,
      "CONFLICT",
    );
    expect(listed.error.details).toMatchObject({ reason: "change_pending" });
    expect(await kinds(sub.subscription_id)).toEqual([["new", 0, 2900]]);

    await advanceSubscription(stripeId);
    await deliverAllFor(stripeId);
    await deliverAllFor(stripeId); // a replay changes nothing
    const row = await subscriptionRow(sub.subscription_id);
    expect(row).toMatchObject({ planId: "basic_monthly", amount: 900, changeId: null, pendingPlanId: null });
    expect((await kinds(sub.subscription_id)).sort()).toEqual([
      ["contraction", 2900, 900],
      ["new", 0, 2900],
    ]);
    const renewed = await stripe.subscriptions.retrieve(stripeId);
    const renewal = await stripe.invoices.retrieve(String(renewed.latest_invoice));
    expect(renewal).toMatchObject({ billing_reason: "subscription_cycle", amount_paid: 900 });
  });

  it("asks for an upgrade at next_period: scheduled, not charged now", async () => {
    const user = await newCaller("user");
    const { sub, stripeId } = await subscribed(user, "basic_monthly");
    const res = await changePlan(user, sub.subscription_id, {
      plan: "pro_monthly",
      proration: "next_period",
    });
    const body = await bodyOf(res, "POST /subscriptions/:id/change", 200);
    expect(body).toMatchObject({ plan: "basic_monthly", pending_change: { plan: "pro_monthly" } });
    expect((await stripeWrites(stripeId)).updates).toHaveLength(0);
    await advanceSubscription(stripeId);
    await deliverAllFor(stripeId);
    expect((await kinds(sub.subscription_id)).sort()).toEqual([
      ["expansion", 900, 2900],
      ["new", 0, 900],
    ]);
  });

  describe("refusals: a clear 4xx and nothing written", () => {
    async function expectUntouched(id: string, stripeId: string | null, run: () => Promise<void>) {
      const before = await subscriptionRow(id);
      await run();
      expect(await subscriptionRow(id)).toEqual(before);
      if (stripeId) expect(await stripeWrites(stripeId)).toEqual({ updates: [], schedules: [] });
    }

    it("same plan, free, downgrade now, unknown plan, someone else's, ended", async () => {
      const user = await newCaller("user");
      const other = await newCaller("user");
      const { sub, stripeId } = await subscribed(user, "pro_monthly");
      const id = sub.subscription_id;
      await expectUntouched(id, stripeId, async () => {
        const same = await expectEnvelope(
          await changePlan(user, id, { plan: "pro_monthly", proration: "now" }),
          409,
          "CONFLICT",
        );
        expect(same.error.details).toMatchObject({ reason: "same_plan" });
        const free = await expectEnvelope(
          await changePlan(user, id, { plan: "free", proration: "now" }),
          422,
          "UNPROCESSABLE",
        );
        expect(free.error.details).toMatchObject({ reason: "free_plan" });
        const down = await expectEnvelope(
          await changePlan(user, id, { plan: "basic_monthly", proration: "now" }),
          422,
          "UNPROCESSABLE",
        );
        expect(down.error.details).toMatchObject({ reason: "downgrade_now" });
        await expectEnvelope(
          await changePlan(user, id, { plan: "gold", proration: "now" }),
          400,
          "VALIDATION_FAILED",
        );
        await expectEnvelope(
          await changePlan(user, id, { plan: "business_monthly" }),
          400,
          "VALIDATION_FAILED",
        );
        await expectEnvelope(
          await changePlan(user, id, { plan: "business_monthly", proration: "now", extra: 1 }),
          400,
          "VALIDATION_FAILED",
        );
        await expectEnvelope(
          await changePlan(other, id, { plan: "business_monthly", proration: "now" }),
          404,
          "NOT_FOUND",
        );
        await expectEnvelope(
          await changePlan(user, crypto.randomUUID(), { plan: "business_monthly", proration: "now" }),
          404,
          "NOT_FOUND",
        );
      });

      const cancel = await postJson(
        `/api/v1/subscriptions/${id}/cancel`,
        { at_period_end: false },
        user.headers,
      );
      expect(await bodyOf(cancel, "POST /subscriptions/:id/cancel", 200)).toMatchObject({
        status: "canceled",
      });
      await expectUntouched(id, null, async () => {
        const ended = await expectEnvelope(
          await changePlan(user, id, { plan: "business_monthly", proration: "now" }),
          409,
          "CONFLICT",
        );
        expect(ended.error.details).toMatchObject({ reason: "subscription_ended" });
      });
    });

    it("a subscription still being set up is 409 with Retry-After", async () => {
      const user = await newCaller("user");
      const id = crypto.randomUUID();
      const t = Date.now();
      await db().insert(subscriptions).values({
        id,
        userId: user.sub,
        planId: "pro_monthly",
        status: "incomplete",
        amount: 2900,
        currency: "usd",
        interval: "month",
        createdAt: t,
        updatedAt: t,
      });
      await expectUntouched(id, null, async () => {
        const res = await changePlan(user, id, { plan: "business_monthly", proration: "now" });
        expect(res.headers.get("Retry-After")).toBe("5");
        await expectEnvelope(res, 409, "CONFLICT");
      });
    });
  });

  it("two parallel changes: one 200, one 409, one Stripe update, one movement", async () => {
    const user = await newCaller("user");
    const { sub, stripeId } = await subscribed(user, "basic_monthly");
    const results = await Promise.all([
      changePlan(user, sub.subscription_id, { plan: "pro_monthly", proration: "now" }),
      changePlan(user, sub.subscription_id, { plan: "business_monthly", proration: "now" }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const loser = results.find((r) => r.status === 409);
    if (loser) await expectEnvelope(loser, 409, "CONFLICT");
    expect((await stripeWrites(stripeId)).updates).toHaveLength(1);
    await deliverAllFor(stripeId);
    const moves = (await movementsOf(sub.subscription_id)).filter((m) => m.kind === "expansion");
    expect(moves).toHaveLength(1);

    // And at the period end: one schedule, however many ask at once.
    const later = await Promise.all(
      ["basic_monthly", "pro_yearly", "basic_monthly"].map((plan) =>
        changePlan(user, sub.subscription_id, { plan, proration: "next_period" }),
      ),
    );
    expect(later.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    expect((await stripeWrites(stripeId)).schedules).toHaveLength(1);
  });

  it("replays a change sent again with the same Idempotency-Key; one Stripe update", async () => {
    const user = await newCaller("user");
    const { sub, stripeId } = await subscribed(user, "basic_monthly");
    const headers = { "Idempotency-Key": `change-${crypto.randomUUID()}` };
    const body = { plan: "pro_monthly", proration: "now" };
    const first = await changePlan(user, sub.subscription_id, body, headers);
    const firstBody = await bodyOf(first, "POST /subscriptions/:id/change", 200);
    const again = await changePlan(user, sub.subscription_id, body, headers);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await again.json()).toEqual(firstBody);
    await expectEnvelope(
      await changePlan(user, sub.subscription_id, { plan: "business_monthly", proration: "now" }, headers),
      409,
      "IDEMPOTENCY_CONFLICT",
    );
    expect((await stripeWrites(stripeId)).updates).toHaveLength(1);
    const updates = (await stripeWrites(stripeId)).updates as Array<{
      params: Stripe.SubscriptionUpdateParams;
    }>;
    expect(updates[0]?.params.proration_behavior).toBe("always_invoice");
  });

  it("an upgrade whose Stripe outcome is unknown holds its claim; a later request, once the claim is stale, completes it once", async () => {
    const user = await newCaller("user");
    const { sub, stripeId } = await subscribed(user, "basic_monthly");
    const body = { plan: "pro_monthly", proration: "now" };
    await injectFault({
      path_prefix: `/v1/subscriptions/${stripeId}`,
      method: "POST",
      status: 500,
      count: 2,
    });
    const lost = await changePlan(user, sub.subscription_id, body);
    expect(lost.status).toBeGreaterThanOrEqual(500);
    const held = await subscriptionRow(sub.subscription_id);
    expect(held).toMatchObject({
      planId: "basic_monthly",
      pendingPlanId: "pro_monthly",
      pendingProration: "now",
    });
    const blocked = await expectEnvelope(await changePlan(user, sub.subscription_id, body), 409, "CONFLICT");
    expect(blocked.error.details).toMatchObject({ reason: "change_pending" });

    // Once stale, the next request takes the claim over and completes the change.
    await db()
      .update(subscriptions)
      .set({ changeRequestedAt: Date.now() - STALE_CHANGE_MS - 1000 })
      .where(eq(subscriptions.id, sub.subscription_id));
    const done = await bodyOf(
      await changePlan(user, sub.subscription_id, body),
      "POST /subscriptions/:id/change",
      200,
    );
    expect(done).toMatchObject({ plan: "pro_monthly", amount: 2900, pending_change: null });
    expect((await stripeWrites(stripeId)).updates).toHaveLength(1);
    await deliverAllFor(stripeId);
    expect((await movementsOf(sub.subscription_id)).filter((m) => m.kind === "expansion")).toHaveLength(1);
  });
});
