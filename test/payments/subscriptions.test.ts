import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { mrrMovements, subscriptions } from "../../src/db/schema";
import { bodyOf } from "../helpers/body";
import { api, expectEnvelope, postJson } from "../helpers/http";
import { advanceSubscription } from "../helpers/stripe";
import { db, deliverAllFor, get, newCaller } from "./helpers";

async function stripeSubId(id: string): Promise<string> {
  const row = await db().select().from(subscriptions).where(eq(subscriptions.id, id)).get();
  if (!row?.stripeSubscriptionId) throw new Error("no stripe subscription");
  return row.stripeSubscriptionId;
}

describe("subscriptions", () => {
  it("lists plans", async () => {
    const user = await newCaller("user");
    const res = await get("/api/v1/subscriptions/plans", user);
    const body = await bodyOf(res, "GET /subscriptions/plans", 200);
    expect(body.items.map((p) => p.id)).toEqual([
      "free",
      "basic_monthly",
      "pro_monthly",
      "pro_yearly",
      "business_monthly",
    ]);
    expect(body.items.find((p) => p.id === "pro_yearly")).toMatchObject({
      amount: 29000,
      monthly_amount: 2417,
    });
  });

  it("is created, renewed through invoice.paid, cancelled at period end and then ended", async () => {
    const user = await newCaller("user");
    const created = await postJson(
      "/api/v1/subscriptions",
      { plan: "pro_monthly", payment_method: "pm_card_visa" },
      user.headers,
    );
    expect(created.status).toBe(201);
    const sub = await bodyOf(created, "POST /subscriptions", 201);
    expect(sub).toMatchObject({
      plan: "pro_monthly",
      status: "active",
      amount: 2900,
      mrr: 2900,
      cancel_at_period_end: false,
    });
    const stripeId = await stripeSubId(sub.subscription_id);
    await deliverAllFor(stripeId);

    const firstEnd = sub.current_period_end;
    await advanceSubscription(stripeId);
    const renewals = await deliverAllFor(stripeId);
    expect(renewals.map((d) => d.type)).toContain("invoice.paid");
    const [renewed] = (await bodyOf(await get("/api/v1/subscriptions", user), "GET /subscriptions", 200))
      .items;
    expect(renewed?.status).toBe("active");
    expect(renewed?.current_period_start).toBe(firstEnd);

    const cancel = await postJson(
      `/api/v1/subscriptions/${sub.subscription_id}/cancel`,
      { at_period_end: true },
      user.headers,
    );
    expect(cancel.status).toBe(200);
    expect(await cancel.json()).toMatchObject({ status: "active", cancel_at_period_end: true });

    await advanceSubscription(stripeId);
    await deliverAllFor(stripeId);
    await deliverAllFor(stripeId); // replays change nothing
    const [ended] = (await bodyOf(await get("/api/v1/subscriptions", user), "GET /subscriptions", 200)).items;
    expect(ended).toMatchObject({ status: "canceled", mrr: 0 });
    expect(ended?.ended_at).not.toBeNull();

    const moves = await db()
      .select()
      .from(mrrMovements)
      .where(eq(mrrMovements.subscriptionId, sub.subscription_id));
    expect(moves.map((m) => [m.kind, m.mrrBefore, m.mrrAfter]).sort()).toEqual([
      ["churn", 2900, 0],
      ["new", 0, 2900],
    ]);
  });

  it("yearly plans count a twelfth towards MRR; cancelling now churns immediately", async () => {
    const user = await newCaller("user");
    const res = await postJson(
      "/api/v1/subscriptions",
      { plan: "pro_yearly", payment_method: "pm_card_visa" },
      user.headers,
    );
    const sub = await bodyOf(res, "POST /subscriptions", 201);
    expect(sub).toMatchObject({ status: "active", mrr: 2417 });
    const cancel = await postJson(
      `/api/v1/subscriptions/${sub.subscription_id}/cancel`,
      { at_period_end: false },
      user.headers,
    );
    expect(await cancel.json()).toMatchObject({ status: "canceled", mrr: 0 });
    await deliverAllFor(await stripeSubId(sub.subscription_id));
    const moves = await db()
      .select()
      .from(mrrMovements)
      .where(eq(mrrMovements.subscriptionId, sub.subscription_id));
    expect(moves.map((m) => m.kind).sort()).toEqual(["churn", "new"]);
  });

  it("free needs no card; paid needs one; declines are 402; others' subscriptions are 404", async () => {
    const user = await newCaller("user");
    const other = await newCaller("user");
    const free = await postJson("/api/v1/subscriptions", { plan: "free" }, user.headers);
    expect(free.status).toBe(201);
    const freeSub = await bodyOf(free, "POST /subscriptions", 201);
    expect(freeSub).toMatchObject({ plan: "free", status: "active", mrr: 0 });
    await expectEnvelope(
      await postJson("/api/v1/subscriptions", { plan: "basic_monthly" }, user.headers),
      400,
      "VALIDATION_FAILED",
    );
    await expectEnvelope(
      await postJson("/api/v1/subscriptions", { plan: "gold" }, user.headers),
      400,
      "VALIDATION_FAILED",
    );
    await expectEnvelope(
      await postJson(
        "/api/v1/subscriptions",
        { plan: "basic_monthly", payment_method: "pm_card_chargeDeclined" },
        user.headers,
      ),
      402,
      "PAYMENT_FAILED",
    );
    await expectEnvelope(
      await postJson(
        `/api/v1/subscriptions/${freeSub.subscription_id}/cancel`,
        { at_period_end: false },
        other.headers,
      ),
      404,
      "NOT_FOUND",
    );
    await expectEnvelope(await api("/api/v1/subscriptions"), 401, "UNAUTHENTICATED");
    const paid = await postJson(
      "/api/v1/subscriptions",
      { plan: "basic_monthly", payment_method: "pm_card_visa" },
      user.headers,
    );
    expect(paid.status).toBe(201);
    await expectEnvelope(
      await postJson(
        "/api/v1/subscriptions",
        { plan: "business_monthly", payment_method: "pm_card_visa" },
        user.headers,
      ),
      409,
      "CONFLICT",
    );
  });
});
