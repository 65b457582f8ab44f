import { type SQL, sql } from "drizzle-orm";
import type { Db } from "../../platform/types";
import { ACTIVITY_BUCKET_MS, DAY_MS } from "../store";
import { pct, type Range } from "./range";
import { batchAll, botFilter, rows } from "./sql";

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/**
 * A range as whole rollup units (days, 15-minute buckets) plus the ragged edges, which
 * are read from raw events; a dashboard's day-aligned range has no edges at all.
 */
function split(r: Range, unit: number) {
  const u0 = Math.ceil(r.from / unit);
  const u1 = Math.floor(r.to / unit);
  if (u0 >= u1) return { u0: 0, u1: 0, edges: [r.from, r.to, r.to, r.to] as const };
  return { u0, u1, edges: [r.from, u0 * unit, u1 * unit, r.to] as const };
}

/** Counts per (page, element) for one event type: daily rollup + raw edges. */
function dailyCounts(r: Range, type: string, bots: boolean): SQL {
  const { u0, u1, edges } = split(r, DAY_MS);
  const [a1, b1, a2, b2] = edges;
  const raw = (a: number, b: number) => sql`
    SELECT COALESCE(page, '') AS page, COALESCE(element, '') AS element, 1 AS n FROM analytics_events
    WHERE event_type = ${type} AND occurred_at >= ${a} AND occurred_at < ${b} AND ${botFilter(bots)}`;
  return sql`src AS (
    SELECT page, element, events AS n FROM analytics_daily
    WHERE event_type = ${type} AND day >= ${u0} AND day < ${u1} AND ${botFilter(bots)}
    UNION ALL ${raw(a1, b1)} UNION ALL ${raw(a2, b2)})`;
}

/**
 * Reads the rollups kept by store.ts, so cost follows the number of sessions/days, not
 * events. Sessions count in the range where they started and exclude server-recorded
 * events (payment_completed). A bounce is a session with at most one page_view and no
 * interaction (button_click, feature_used). Feature names are the `element` field.
 * Bot traffic is left out unless `bots`; `bot_traffic` says how much of it there was either way.
 */
export async function userBehavior(db: Db, r: Range, tz: string, bots = false) {
  const act = split(r, ACTIVITY_BUCKET_MS);
  const [a1, b1, a2, b2] = act.edges;
  const rawBuckets = (a: number, b: number) => sql`
    SELECT occurred_at / ${ACTIVITY_BUCKET_MS} AS b, COUNT(*) AS n FROM analytics_events
    WHERE occurred_at >= ${a} AND occurred_at < ${b} AND ${botFilter(bots)} GROUP BY 1`;
  const [sessions, pages, clicks, features, buckets, share] = await batchAll(db, [
    rows<{ sessions: number; avg_ms: number | null; avg_events: number | null; bounces: number | null }>(sql`
      SELECT COUNT(*) AS sessions, AVG(last_at - first_at) AS avg_ms, AVG(events) AS avg_events,
             SUM(CASE WHEN page_views <= 1 AND interactions = 0 THEN 1 ELSE 0 END) AS bounces
      FROM analytics_sessions WHERE first_at >= ${r.from} AND first_at < ${r.to} AND ${botFilter(bots)}`),
    rows<{ page: string; views: number }>(sql`
      WITH ${dailyCounts(r, "page_view", bots)}
      SELECT page, SUM(n) AS views FROM src WHERE page <> '' GROUP BY page ORDER BY views DESC, page LIMIT 20`),
    rows<{ page: string; element: string; clicks: number }>(sql`
      WITH ${dailyCounts(r, "button_click", bots)}
      SELECT page, element, SUM(n) AS clicks FROM src GROUP BY page, element
      ORDER BY clicks DESC, page, element LIMIT 100`),
    rows<{ feature: string; uses: number }>(sql`
      WITH ${dailyCounts(r, "feature_used", bots)}
      SELECT CASE WHEN element = '' THEN 'unknown' ELSE element END AS feature, SUM(n) AS uses
      FROM src GROUP BY feature ORDER BY uses DESC, feature LIMIT 50`),
    rows<{ b: number; n: number }>(sql`
      SELECT bucket AS b, events AS n FROM analytics_activity
      WHERE bucket >= ${act.u0} AND bucket < ${act.u1} AND ${botFilter(bots)}
      UNION ALL ${rawBuckets(a1, b1)} UNION ALL ${rawBuckets(a2, b2)}`),
    // The share filtered, from the session rollup (client events of sessions started in range).
    rows<{ sessions: number; bot_sessions: number; events: number; bot_events: number }>(sql`
      SELECT COUNT(*) AS sessions, COALESCE(SUM(bot), 0) AS bot_sessions, COALESCE(SUM(events), 0) AS events,
             COALESCE(SUM(CASE WHEN bot = 1 THEN events ELSE 0 END), 0) AS bot_events
      FROM analytics_sessions WHERE first_at >= ${r.from} AND first_at < ${r.to}`),
  ]);
  const t = share[0] ?? { sessions: 0, bot_sessions: 0, events: 0, bot_events: 0 };

  const s = sessions[0] ?? { sessions: 0, avg_ms: null, avg_events: null, bounces: null };
  const orNull = (v: string) => (v === "" ? null : v);
  return {
    sessions: {
      count: s.sessions,
      avg_duration_ms: Math.round(s.avg_ms ?? 0),
      avg_events_per_session: Math.round((s.avg_events ?? 0) * 100) / 100,
      bounces: s.bounces ?? 0,
      bounce_rate: s.sessions === 0 ? null : Math.round(((s.bounces ?? 0) / s.sessions) * 1000) / 10,
    },
    top_pages: pages,
    click_heatmap: clicks.map((c) => ({
      page: orNull(c.page),
      element: orNull(c.element),
      clicks: c.clicks,
    })),
    feature_usage: features,
    activity_heatmap: { tz, weekdays: WEEKDAYS, cells: activityCells(buckets, tz) },
    bot_traffic: {
      included: bots,
      sessions: t.sessions,
      bot_sessions: t.bot_sessions,
      events: t.events,
      bot_events: t.bot_events,
      bot_share: pct(t.bot_events, t.events),
    },
  };
}

/** weekday (0 = Sunday) × hour counts, only non-zero cells. */
function activityCells(buckets: Array<{ b: number; n: number }>, tz: string) {
  const fmt = new Intl.DateTimeFormat("en-US", {
    timeZone: tz,
    weekday: "short",
    hour: "numeric",
    hourCycle: "h23",
  });
  const grid = new Map<string, number>();
  for (const { b, n } of buckets) {
    const parts = fmt.formatToParts(new Date(b * ACTIVITY_BUCKET_MS));
    const weekday = WEEKDAYS.indexOf(parts.find((p) => p.type === "weekday")?.value ?? "");
    const hour = Number(parts.find((p) => p.type === "hour")?.value ?? 0) % 24;
    const key = `${weekday}:${hour}`;
    grid.set(key, (grid.get(key) ?? 0) + n);
  }
  return [...grid.entries()]
    .map(([k, count]) => {
      const [weekday, hour] = k.split(":").map(Number);
      return { weekday: weekday ?? 0, hour: hour ?? 0, count };
    })
    .sort((a, b) => a.weekday - b.weekday || a.hour - b.hour);
}
