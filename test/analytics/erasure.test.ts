import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { newCaller } from "../helpers/auth";
import { api } from "../helpers/http";
import { DAY, db, MIN, seedEvents } from "./helpers";

// Integer literals: D1 binds JS numbers as REAL, and REAL division would not floor.
const PER_BUCKET = sql.raw(String(15 * MIN));

/** A day of its own in 2060–2069 (other files use 1990–2009 and 2040–2059), so its rollups are this test's. */
const ownDay = () => Date.UTC(2060, 0, 1) + Math.floor(Math.random() * 3650) * DAY;

const dailyOf = (day: number) =>
  db.all<{ event_type: string; page: string; element: string; events: number }>(
    sql`SELECT event_type, page, element, events FROM analytics_daily WHERE day = ${day} ORDER BY 1, 2, 3`,
  );
const dailyRebuilt = (from: number) =>
  db.all<{ event_type: string; page: string; element: string; events: number }>(
    sql`SELECT event_type, COALESCE(page, '') AS page, COALESCE(element, '') AS element, COUNT(*) AS events
      FROM analytics_events WHERE occurred_at >= ${from} AND occurred_at < ${from + DAY}
      GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
  );
const activityOf = (from: number) =>
  db.all<{ bucket: number; events: number }>(
    sql`SELECT bucket, events FROM analytics_activity
      WHERE bucket >= ${from} / ${PER_BUCKET} AND bucket < ${from + DAY} / ${PER_BUCKET} ORDER BY 1`,
  );
const activityRebuilt = (from: number) =>
  db.all<{ bucket: number; events: number }>(
    sql`SELECT occurred_at / ${PER_BUCKET} AS bucket, COUNT(*) AS events FROM analytics_events
      WHERE occurred_at >= ${from} AND occurred_at < ${from + DAY} GROUP BY 1 ORDER BY 1`,
  );
const sessionsOf = (ids: string[]) =>
  db.all<{ session_id: string; events: number; page_views: number; interactions: number }>(
    sql`SELECT session_id, events, page_views, interactions FROM analytics_sessions
      WHERE session_id IN (SELECT value FROM json_each(${JSON.stringify(ids)})) ORDER BY 1`,
  );
const eventsOf = (ids: string[]) =>
  db.all<{ session_id: string; user_id: string | null; page: string | null }>(
    sql`SELECT session_id, user_id, page FROM analytics_events
      WHERE session_id IN (SELECT value FROM json_each(${JSON.stringify(ids)})) ORDER BY 1, 2, 3`,
  );
const userDays = (user: string) => db.all(sql`SELECT day FROM analytics_user_days WHERE user_id = ${user}`);

describe("DELETE /analytics/users/{id} erases the whole visit (issue 13, item 12)", () => {
  it("removes the user's anonymous pre-login events, their sessions and their page strings in the rollups", async () => {
    const admin = await newCaller("admin");
    const [victim, other] = [crypto.randomUUID(), crypto.randomUUID()];
    const tag = crypto.randomUUID().slice(0, 8);
    const [shared, visitor, own] = [`${tag}-shared`, `${tag}-visitor`, `${tag}-own`];
    const t0 = ownDay();
    const day = Math.floor(t0 / DAY);
    const at = (m: number) => t0 + m * MIN;
    await seedEvents([
      // The victim's visit: anonymous before signing in, then signed in, in the same session.
      { type: "page_view", at: at(10), session: shared, page: `/landing-${tag}` },
      { type: "button_click", at: at(11), session: shared, page: `/landing-${tag}`, element: "sign-in" },
      { type: "page_view", at: at(12), session: shared, user: victim, page: `/home-${tag}` },
      { type: "feature_used", at: at(13), session: shared, user: victim, element: `export-${tag}` },
      // Someone else signs in on the same device later: their event stays.
      { type: "page_view", at: at(200), session: shared, user: other, page: `/home-${tag}` },
      // An anonymous visitor who never signed in as the victim.
      { type: "page_view", at: at(300), session: visitor, page: `/home-${tag}` },
      // Another session of the victim, signed in only.
      { type: "page_view", at: at(400), session: own, user: victim, page: `/private-${tag}` },
    ]);

    const res = await api(`/api/v1/analytics/users/${victim}`, { method: "DELETE", headers: admin.headers });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ user_id: victim, deleted: 5, anonymous_deleted: 2, sessions: 2 });

    expect(await eventsOf([shared, visitor, own])).toEqual([
      { session_id: shared, user_id: other, page: `/home-${tag}` },
      { session_id: visitor, user_id: null, page: `/home-${tag}` },
    ]);
    // The shared session is rebuilt from what the other user left in it; the victim's own is gone.
    expect(await sessionsOf([shared, visitor, own])).toEqual([
      { session_id: shared, events: 1, page_views: 1, interactions: 0 },
      { session_id: visitor, events: 1, page_views: 1, interactions: 0 },
    ]);
    // Daily and activity rollups equal a rebuild from the surviving raw rows: the victim's
    // pages (/landing, /private) and feature name are gone, /home counts the two others.
    const daily = await dailyOf(day);
    expect(daily).toEqual(await dailyRebuilt(day * DAY));
    expect(daily).toEqual([{ event_type: "page_view", page: `/home-${tag}`, element: "", events: 2 }]);
    expect(await activityOf(day * DAY)).toEqual(await activityRebuilt(day * DAY));
    expect(await userDays(victim)).toEqual([]);
    expect(await userDays(other)).toHaveLength(1);
  });
});
