import { beforeAll, describe, expect, it } from "vitest";
import { mrrMovements, payments, refunds, subscriptions } from "../../src/db/schema/payments";
import { newCaller } from "../helpers/auth";
import { api, expectEnvelope } from "../helpers/http";
import { DAY, getReport, iso, paymentsDb } from "./helpers";

let admin: Awaited<ReturnType<typeof newCaller>>;
beforeAll(async () => {
  admin = await newCaller("admin");
});

// A currency code no other test uses keeps the "now" MRR totals to this test's rows.
const freshCurrency = () => `x${crypto.randomUUID().replaceAll("-", "").slice(0, 6)}`;
const firstOfMonth = () => Date.UTC(1990 + Math.floor(Math.random() * 15), Math.floor(Math.random() * 11), 1);

type Status = (typeof payments.$inferInsert)["status"];
function payment(
  currency: string,
  amount: number,
  status: Status,
  paidAt: number,
  extra: Partial<typeof payments.$inferInsert> = {},
) {
  return {
    id: crypto.randomUUID(),
    userId: crypto.randomUUID(),
    amount,
    currency,
    status,
    paidAt: status === "failed" ? null : paidAt,
    createdAt: paidAt,
    updatedAt: paidAt,
    ...extra,
  };
}

describe("GET /analytics/revenue", () => {
  it("sums gross, refunds and net per month, by source and by campaign", async () => {
    const cur = freshCurrency();
    const B = firstOfMonth();
    const B2 = Date.UTC(new Date(B).getUTCFullYear(), new Date(B).getUTCMonth() + 1, 1);
    const camp = crypto.randomUUID();
    const p2 = payment(cur, 2000, "partially_refunded", B + 2 * DAY, { source: "ios", amountRefunded: 500 });
    const p4 = payment(cur, 3000, "refunded", B2 + 3 * DAY, {
      source: "web",
      campaignId: camp,
      amountRefunded: 3000,
    });
    await paymentsDb.insert(payments).values([
      payment(cur, 1000, "succeeded", B + DAY, { source: "web", campaignId: camp }),
      p2,
      payment(cur, 5000, "failed", B + 3 * DAY, { source: "web" }),
      p4,
      payment(cur, 700, "succeeded", B - DAY, { source: "web" }), // before the range
    ]);
    const refund = (paymentId: string, amount: number, at: number, status = "succeeded") => ({
      id: crypto.randomUUID(),
      paymentId,
      amount,
      currency: cur,
      reason: "requested_by_customer",
      status,
      createdBy: "admin",
      createdAt: at,
      updatedAt: at,
    });
    await paymentsDb
      .insert(refunds)
      .values([
        refund(p2.id, 500, B + 5 * DAY),
        refund(p4.id, 3000, B2 + 4 * DAY),
        refund(p2.id, 100, B + 6 * DAY, "failed"),
      ]);

    const r = await getReport<{
      periods: Array<{
        period: string;
        currency: string;
        gross: number;
        refunds: number;
        net: number;
        payments: number;
      }>;
      by_source: Array<{
        source: string;
        currency: string;
        amount: number;
        refunded: number;
        payments: number;
      }>;
      by_campaign: Array<{ campaign_id: string; amount: number; refunded: number; payments: number }>;
    }>("revenue", admin.token, { from: iso(B), to: iso(B2 + 20 * DAY), interval: "month" });
    const month = (t: number) => iso(t).slice(0, 7);
    expect(r.periods.filter((p) => p.currency === cur)).toEqual([
      {
        period: month(B),
        currency: cur,
        gross: 3000,
        refunds: 500,
        net: 2500,
        net_decimal: "25.00",
        payments: 2,
      },
      {
        period: month(B2),
        currency: cur,
        gross: 3000,
        refunds: 3000,
        net: 0,
        net_decimal: "0.00",
        payments: 1,
      },
    ]);
    expect(
      r.by_source
        .filter((s) => s.currency === cur)
        .map(({ source, amount, refunded, payments }) => ({ source, amount, refunded, payments })),
    ).toEqual([
      { source: "web", amount: 4000, refunded: 3000, payments: 2 },
      { source: "ios", amount: 2000, refunded: 500, payments: 1 },
    ]);
    expect(r.by_campaign.filter((c) => c.campaign_id === camp)).toMatchObject([
      { amount: 4000, refunded: 3000, payments: 2 },
    ]);

    const daily = await getReport<{ periods: Array<{ period: string; currency: string; gross: number }> }>(
      "revenue",
      admin.token,
      {
        from: iso(B),
        to: iso(B + 3 * DAY),
        interval: "day",
      },
    );
    expect(daily.periods.filter((p) => p.currency === cur).map((p) => [p.period, p.gross])).toEqual([
      [iso(B + DAY).slice(0, 10), 1000],
      [iso(B + 2 * DAY).slice(0, 10), 2000],
    ]);
    const weekly = await getReport<{ periods: Array<{ period: string; currency: string }> }>(
      "revenue",
      admin.token,
      {
        from: iso(B),
        to: iso(B + 3 * DAY),
        interval: "week",
      },
    );
    const monday = new Date(B + DAY);
    monday.setUTCDate(monday.getUTCDate() - ((monday.getUTCDay() + 6) % 7));
    expect(weekly.periods.find((p) => p.currency === cur)?.period).toBe(iso(monday.getTime()).slice(0, 10));
  });

  it("derives MRR/ARR from active subscriptions and sums upgrade, downgrade, yearly and cancellation movements", async () => {
    const cur = freshCurrency();
    const B = firstOfMonth();
    const sub = (amount: number, interval: "month" | "year", status: string, quantity = 1) => ({
      id: crypto.randomUUID(),
      userId: crypto.randomUUID(),
      planId: "plan",
      status,
      amount,
      currency: cur,
      interval,
      quantity,
      createdAt: B,
      updatedAt: B,
    });
    const [s1, s2, s3] = [
      sub(1000, "month", "active"),
      sub(12000, "year", "active"),
      sub(500, "month", "canceled"),
    ];
    await paymentsDb
      .insert(subscriptions)
      .values([s1, s2, s3, sub(2000, "month", "past_due", 2), sub(999, "month", "trialing")]);
    const move = (
      s: { id: string; userId: string },
      kind: "new" | "expansion" | "contraction" | "churn",
      before: number,
      after: number,
      at: number,
    ) => ({
      id: crypto.randomUUID(),
      subscriptionId: s.id,
      userId: s.userId,
      kind,
      mrrBefore: before,
      mrrAfter: after,
      currency: cur,
      occurredAt: at,
      sourceId: crypto.randomUUID(),
    });
    await paymentsDb.insert(mrrMovements).values([
      move(s3, "new", 0, 500, B - 10 * DAY), // before the range: the opening MRR
      move(s1, "new", 0, 1000, B + DAY),
      move(s2, "new", 0, 1000, B + DAY), // yearly 12 000 → 1 000 a month
      move(s1, "expansion", 1000, 1500, B + 10 * DAY), // upgrade
      move(s1, "contraction", 1500, 1000, B + 15 * DAY), // downgrade
      move(s3, "churn", 500, 0, B + 20 * DAY), // cancellation
    ]);
    const r = await getReport<{
      mrr: Array<{ currency: string; mrr: number; arr: number; subscriptions: number }>;
      mrr_movements: Array<Record<string, unknown>>;
      mrr_series: Array<{ period: string; currency: string; mrr: number }>;
    }>("revenue", admin.token, { from: iso(B), to: iso(B + 25 * DAY), interval: "month" });
    // 1 000 (monthly) + 12 000 / 12 (yearly) + 2 × 2 000 (past_due) = 6 000; trial and canceled excluded.
    expect(r.mrr.find((m) => m.currency === cur)).toMatchObject({
      mrr: 6000,
      arr: 72000,
      subscriptions: 3,
      mrr_decimal: "60.00",
    });
    expect(r.mrr_movements.find((m) => m.currency === cur)).toEqual({
      currency: cur,
      new: 2000,
      expansion: 500,
      contraction: 500,
      churn: 500,
      reactivation: 0,
      net_new_mrr: 1500,
      counts: { new: 2, expansion: 1, contraction: 1, churn: 1, reactivation: 0 },
    });
    // Opening 500 + 1 500 net new = 2 000 at the end of the month.
    expect(r.mrr_series.filter((p) => p.currency === cur)).toEqual([
      { period: iso(B).slice(0, 7), currency: cur, mrr: 2000 },
    ]);
  });

  it("rejects an unknown interval", async () => {
    const res = await api("/api/v1/analytics/revenue?interval=hour", { headers: admin.headers });
    await expectEnvelope(res, 400, "VALIDATION_FAILED");
  });
});
