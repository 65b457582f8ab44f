import { env } from "cloudflare:workers";
import { eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { purgeExpiredAnalytics } from "../../src/analytics/housekeeping";
import { analyticsDaily, analyticsEvents, analyticsUserDays } from "../../src/db/schema/analytics";
import { publish } from "../../src/events/publish";
import { getConfig } from "../../src/platform/config";
import { createLogger } from "../../src/platform/logger";
import { newCaller } from "../helpers/auth";
import { testDeps } from "../helpers/deps";
import { api, expectEnvelope } from "../helpers/http";
import { openApiDoc } from "../helpers/openapi";
import { DAY, db, seedEvents } from "./helpers";

const REPORTS = [
  "/api/v1/analytics/user-behavior",
  "/api/v1/analytics/conversion-funnel?steps=page_view,button_click",
  "/api/v1/analytics/revenue",
  "/api/v1/analytics/revenue/by-source?model=first_touch",
  "/api/v1/analytics/retention",
];

describe("analytics authorization", () => {
  it("answers 401 to anonymous callers and 403 to non-admins on every report and erase", async () => {
    const user = await newCaller("user");
    const merchant = await newCaller("merchant");
    for (const path of REPORTS) {
      await expectEnvelope(await api(path), 401, "UNAUTHENTICATED");
      await expectEnvelope(await api(path, { headers: user.headers }), 403, "FORBIDDEN");
      await expectEnvelope(await api(path, { headers: merchant.headers }), 403, "FORBIDDEN");
    }
    const erase = `/api/v1/analytics/users/${user.sub}`;
    await expectEnvelope(await api(erase, { method: "DELETE" }), 401, "UNAUTHENTICATED");
    await expectEnvelope(await api(erase, { method: "DELETE", headers: user.headers }), 403, "FORBIDDEN");
  });

  it("answers 200 to an admin on every report", async () => {
    const admin = await newCaller("admin");
    for (const path of REPORTS) expect((await api(path, { headers: admin.headers })).status).toBe(200);
  });
});

describe("DELETE /analytics/users/{id}", () => {
  it("erases only that user's events and reports the count", async () => {
    const admin = await newCaller("admin");
    const [victim, other] = [crypto.randomUUID(), crypto.randomUUID()];
    const t = Date.now();
    await seedEvents([
      { type: "page_view", at: t, user: victim },
      { type: "button_click", at: t, user: victim },
      { type: "feature_used", at: t, user: victim },
      { type: "page_view", at: t, user: other },
    ]);
    const del = () => api(`/api/v1/analytics/users/${victim}`, { method: "DELETE", headers: admin.headers });
    const res = await del();
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ user_id: victim, deleted: 3 });
    expect(await db.select().from(analyticsEvents).where(eq(analyticsEvents.userId, victim))).toHaveLength(0);
    expect(await db.select().from(analyticsEvents).where(eq(analyticsEvents.userId, other))).toHaveLength(1);
    // The one rollup that names users forgets them too.
    expect(await db.select().from(analyticsUserDays).where(eq(analyticsUserDays.userId, victim))).toEqual([]);
    expect(await db.select().from(analyticsUserDays).where(eq(analyticsUserDays.userId, other))).toHaveLength(
      1,
    );
    expect(await (await del()).json()).toEqual({
      user_id: victim,
      deleted: 0,
      anonymous_deleted: 0,
      sessions: 0,
    });
  });
});

describe("purgeExpiredAnalytics (daily cron)", () => {
  it("deletes events older than ANALYTICS_RETENTION_DAYS and keeps newer ones", async () => {
    const days = getConfig(env).ANALYTICS_RETENTION_DAYS;
    const now = Date.now();
    const [old, fresh] = [crypto.randomUUID(), crypto.randomUUID()];
    await seedEvents([
      { type: "page_view", at: now - (days + 1) * DAY, user: old },
      { type: "page_view", at: now - (days + 30) * DAY, user: old },
      { type: "page_view", at: now - (days - 1) * DAY, user: fresh },
    ]);
    const _logger = createLogger({}, "error");
    const purged = await purgeExpiredAnalytics(testDeps(), now);
    expect(purged).toBeGreaterThanOrEqual(2);
    const left = await db
      .select({ userId: analyticsEvents.userId })
      .from(analyticsEvents)
      .where(inArray(analyticsEvents.userId, [old, fresh]));
    expect(left).toEqual([{ userId: fresh }]);
    // The rollups follow the same retention.
    const oldDay = Math.floor((now - (days + 1) * DAY) / DAY);
    expect(await db.select().from(analyticsDaily).where(eq(analyticsDaily.day, oldDay))).toEqual([]);
  });
});

describe("analytics sink", () => {
  it("records payment.succeeded as a server-side payment_completed, once per event id", async () => {
    const deps = testDeps();
    const user = crypto.randomUUID();
    const event = {
      id: `evt_${crypto.randomUUID()}`,
      type: "payment.succeeded" as const,
      source: "stripe",
      data: {
        payment_id: crypto.randomUUID(),
        user_id: user,
        merchant_id: null,
        amount: 4200,
        currency: "eur",
      },
    };
    await publish(deps, event);
    await publish(deps, event);
    const rows = await db.select().from(analyticsEvents).where(eq(analyticsEvents.userId, user));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      eventType: "payment_completed",
      sessionId: `server:${event.data.payment_id}`,
      properties: { payment_id: event.data.payment_id, amount: 4200, currency: "eur", merchant_id: null },
    });
  });
});

describe("OpenAPI", () => {
  it("documents every analytics route under the analytics tag", async () => {
    const doc = await openApiDoc();
    const ops = Object.entries(doc.paths)
      .filter(([p]) => p.startsWith("/api/v1/analytics/"))
      .flatMap(([p, methods]) => Object.entries(methods).map(([m, op]) => [`${m} ${p}`, op.tags]));
    expect(Object.fromEntries(ops)).toEqual({
      "post /api/v1/analytics/events": ["analytics"],
      "get /api/v1/analytics/user-behavior": ["analytics"],
      "get /api/v1/analytics/conversion-funnel": ["analytics"],
      "get /api/v1/analytics/revenue": ["analytics"],
      "get /api/v1/analytics/revenue/by-source": ["analytics"],
      "get /api/v1/analytics/retention": ["analytics"],
      "delete /api/v1/analytics/users/{id}": ["analytics"],
      "get /api/v1/analytics/export": ["analytics"],
    });
  });
});
