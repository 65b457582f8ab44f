import { sql } from "drizzle-orm";
import type { Db } from "../../platform/types";
import type { Range } from "./range";
import { batchAll, rows } from "./sql";

// Activity is bucketed by 15 minutes in SQL and mapped to the zone in JS: every real
// UTC offset is a multiple of 15 minutes, so each bucket lands in exactly one local hour.
const BUCKET_MS = 15 * 60_000;
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/**
 * Sessions exclude server-recorded events (payment_completed): they are not part of
 * what a visitor did in the session. A bounce is a session with at most one page_view
 * and no interaction (button_click, feature_used).
 */
export async function userBehavior(db: Db, r: Range, tz: string) {
  const [sessions, pages, clicks, features, buckets] = await batchAll(db, [
    rows<{ sessions: number; avg_ms: number | null; avg_events: number | null; bounces: number | null }>(sql`
      SELECT COUNT(*) AS sessions, AVG(dur) AS avg_ms, AVG(n) AS avg_events,
             SUM(CASE WHEN pv <= 1 AND act = 0 THEN 1 ELSE 0 END) AS bounces
      FROM (SELECT session_id, MAX(occurred_at) - MIN(occurred_at) AS dur, COUNT(*) AS n,
                   SUM(event_type = 'page_view') AS pv,
                   SUM(event_type IN ('button_click', 'feature_used')) AS act
            FROM analytics_events
            WHERE occurred_at >= ${r.from} AND occurred_at < ${r.to} AND event_type <> 'payment_completed'
            GROUP BY session_id)`),
    rows<{ page: string; views: number; visitors: number }>(sql`
      SELECT page, COUNT(*) AS views, COUNT(DISTINCT COALESCE(user_id, 's:' || session_id)) AS visitors
      FROM analytics_events
      WHERE event_type = 'page_view' AND occurred_at >= ${r.from} AND occurred_at < ${r.to} AND page IS NOT NULL
      GROUP BY page ORDER BY views DESC, page LIMIT 20`),
    rows<{ page: string | null; element: string | null; clicks: number }>(sql`
      SELECT page, element, COUNT(*) AS clicks FROM analytics_events
      WHERE event_type = 'button_click' AND occurred_at >= ${r.from} AND occurred_at < ${r.to}
      GROUP BY page, element ORDER BY clicks DESC, page, element LIMIT 100`),
    rows<{ feature: string; uses: number; users: number }>(sql`
      SELECT COALESCE(element, json_extract(properties, '$.feature'), 'unknown') AS feature, COUNT(*) AS uses,
             COUNT(DISTINCT COALESCE(user_id, 's:' || session_id)) AS users
      FROM analytics_events
      WHERE event_type = 'feature_used' AND occurred_at >= ${r.from} AND occurred_at < ${r.to}
      GROUP BY feature ORDER BY uses DESC, feature LIMIT 50`),
    rows<{ b: number; n: number }>(sql`
      SELECT occurred_at / ${BUCKET_MS} AS b, COUNT(*) AS n FROM analytics_events
      WHERE occurred_at >= ${r.from} AND occurred_at < ${r.to} GROUP BY b`),
  ]);

  const s = sessions[0] ?? { sessions: 0, avg_ms: null, avg_events: null, bounces: null };
  return {
    sessions: {
      count: s.sessions,
      avg_duration_ms: Math.round(s.avg_ms ?? 0),
      avg_events_per_session: Math.round((s.avg_events ?? 0) * 100) / 100,
      bounces: s.bounces ?? 0,
      bounce_rate: s.sessions === 0 ? null : Math.round(((s.bounces ?? 0) / s.sessions) * 1000) / 10,
    },
    top_pages: pages,
    click_heatmap: clicks,
    feature_usage: features,
    activity_heatmap: { tz, weekdays: WEEKDAYS, cells: activityCells(buckets, tz) },
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
    const parts = fmt.formatToParts(new Date(b * BUCKET_MS));
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
