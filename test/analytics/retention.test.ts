import { beforeAll, describe, expect, it } from "vitest";
import { subscriptions } from "../../src/db/schema/payments";
import { newCaller } from "../helpers/auth";
import { DAY, getReport, HOUR, iso, MIN, paymentsDb, seedEvents } from "./helpers";

let admin: Awaited<ReturnType<typeof newCaller>>;
beforeAll(async () => {
  admin = await newCaller("admin");
});

type Retention = {
  cohorts: Array<{
    cohort: string;
    size: number;
    counts: Array<number | null>;
    percentages: Array<number | null>;
  }>;
  subscription_churn: { active_at_start: number; churned: number; churn_rate: number | null };
};

// Years no other analytics test uses (they stay before 2010).
const freshYear = () => 2030 + Math.floor(Math.random() * 60);

describe("GET /analytics/retention", () => {
  it("builds a monthly cohort matrix across a month boundary", async () => {
    const Y = freshYear();
    const [u1, u2, u3, u4] = Array.from({ length: 4 }, () => crypto.randomUUID());
    const jan31 = Date.UTC(Y, 0, 31, 23);
    const feb1 = Date.UTC(Y, 1, 1);
    await seedEvents([
      // u1: first seen 31 Jan 23:00, back an hour later (February) and in March.
      { type: "page_view", at: jan31, user: u1 },
      { type: "page_view", at: feb1 + HOUR, user: u1 },
      { type: "page_view", at: Date.UTC(Y, 2, 5), user: u1 },
      // u2: January only.
      { type: "page_view", at: Date.UTC(Y, 0, 15), user: u2 },
      // u3: first seen 1 Feb 00:30, back 28 Feb and 1 Mar.
      { type: "page_view", at: feb1 + 30 * MIN, user: u3 },
      { type: "page_view", at: Date.UTC(Y, 1, 28), user: u3 },
      { type: "page_view", at: Date.UTC(Y, 2, 1), user: u3 },
      // u4: first seen in December, before the range: in no cohort.
      { type: "page_view", at: Date.UTC(Y - 1, 11, 20), user: u4 },
      { type: "page_view", at: Date.UTC(Y, 0, 10), user: u4 },
      // Anonymous sessions are not retained users.
      { type: "page_view", at: Date.UTC(Y, 0, 12), user: null },
    ]);
    const r = await getReport<Retention>("retention", admin.token, {
      from: iso(Date.UTC(Y, 0, 1)),
      to: iso(Date.UTC(Y, 3, 1)),
      cohort: "month",
      periods: "3",
    });
    expect(r.cohorts).toEqual([
      { cohort: `${Y}-01`, size: 2, counts: [2, 1, 1], percentages: [100, 50, 50] },
      // April is after the range: not observable yet, so null rather than 0.
      { cohort: `${Y}-02`, size: 1, counts: [1, 1, null], percentages: [100, 100, null] },
    ]);
  });

  it("starts weeks on Monday", async () => {
    const Y = freshYear();
    const u = crypto.randomUUID();
    // Find the first Sunday of the year, then 23:59 Sunday → 00:01 Monday is week 1.
    let sunday = Date.UTC(Y, 0, 1);
    while (new Date(sunday).getUTCDay() !== 0) sunday += DAY;
    await seedEvents([
      { type: "page_view", at: sunday + 23 * HOUR + 59 * MIN, user: u },
      { type: "page_view", at: sunday + DAY + MIN, user: u },
    ]);
    const r = await getReport<Retention>("retention", admin.token, {
      from: iso(sunday - 6 * DAY),
      to: iso(sunday + 14 * DAY),
      cohort: "week",
      periods: "2",
    });
    expect(r.cohorts).toEqual([
      { cohort: iso(sunday - 6 * DAY).slice(0, 10), size: 1, counts: [1, 1], percentages: [100, 100] },
    ]);
  });

  it("computes subscription churn for the range", async () => {
    const Y = freshYear();
    const sub = (createdAt: number, status: string, endedAt: number | null) => ({
      id: crypto.randomUUID(),
      userId: crypto.randomUUID(),
      planId: "plan",
      status,
      amount: 1000,
      currency: "usd",
      interval: "month" as const,
      createdAt,
      updatedAt: createdAt,
      endedAt,
    });
    await paymentsDb.insert(subscriptions).values([
      sub(Date.UTC(Y - 1, 11, 1), "active", null), // active at start, stays
      sub(Date.UTC(Y - 1, 11, 1), "canceled", Date.UTC(Y, 1, 10)), // active at start, churns in range
      sub(Date.UTC(Y - 1, 10, 1), "canceled", Date.UTC(Y - 1, 11, 1)), // ended before the range
    ]);
    const r = await getReport<Retention>("retention", admin.token, {
      from: iso(Date.UTC(Y, 0, 1)),
      to: iso(Date.UTC(Y, 3, 1)),
    });
    expect(r.subscription_churn).toEqual({ active_at_start: 2, churned: 1, churn_rate: 50 });
  });
});
