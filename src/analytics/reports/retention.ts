import { type SQL, sql } from "drizzle-orm";
import type { Db } from "../../platform/types";
import { DAY_MS } from "../store";
import { pct, type Range } from "./range";
import { batchAll, botFilter, rows } from "./sql";

export type Cohort = "week" | "month";

/**
 * Integer period number of an epoch-DAY column. Weeks start on Monday (UTC): day 0 of
 * the epoch is a Thursday, so (day + 3) / 7 flips on Mondays. Months are year*12+month.
 */
function periodIndex(day: SQL, cohort: Cohort): SQL {
  if (cohort === "week") return sql`((${day} + 3) / 7)`;
  return sql`(CAST(strftime('%Y', ${day} * 86400, 'unixepoch') AS INTEGER) * 12 + CAST(strftime('%m', ${day} * 86400, 'unixepoch') AS INTEGER) - 1)`;
}

/** Same numbering as periodIndex, in JS. */
function periodIndexOf(ms: number, cohort: Cohort): number {
  if (cohort === "week") return Math.floor((Math.floor(ms / 86_400_000) + 3) / 7);
  const d = new Date(ms);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
}

function periodLabel(index: number, cohort: Cohort): string {
  if (cohort === "month") return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, "0")}`;
  return new Date((index * 7 - 3) * 86_400_000).toISOString().slice(0, 10);
}

/**
 * Users (not anonymous sessions) by the period they were first seen, over all history;
 * only cohorts whose first-seen day falls in the range are shown. Cell k counts cohort
 * members active (any event) in period cohort+k, activity counted inside the range.
 * Activity is read from the analytics_user_days rollup, so the range is taken in whole
 * UTC days (every day overlapping [from, to));
 * cells for periods that start after the range are null (not observable yet).
 * Churn: subscriptions that ended in the range over those active at its start.
 */
export async function retention(
  dbs: { analytics: Db; payments: Db },
  r: Range,
  cohort: Cohort,
  periods: number,
  bots = false,
) {
  const d0 = Math.floor(r.from / DAY_MS);
  const d1 = Math.ceil(r.to / DAY_MS);
  // Cohorts from ANALYTICS_DB, churn from DB's subscriptions: two databases, two queries.
  const [[cells], [churn]] = await Promise.all([
    batchAll(dbs.analytics, [
      rows<{ cohort: number; k: number; users: number }>(sql`
      WITH firsts AS (
        SELECT user_id, MIN(day) AS f FROM analytics_user_days WHERE ${botFilter(bots)}
        GROUP BY user_id HAVING f >= ${d0} AND f < ${d1}),
      act AS (
        SELECT DISTINCT d.user_id, ${periodIndex(sql`d.day`, cohort)} AS p
        FROM analytics_user_days d JOIN firsts USING (user_id)
        WHERE d.day >= ${d0} AND d.day < ${d1} AND ${botFilter(bots, "d.bot")})
      SELECT ${periodIndex(sql`firsts.f`, cohort)} AS cohort, act.p - ${periodIndex(sql`firsts.f`, cohort)} AS k,
             COUNT(*) AS users
      FROM firsts JOIN act USING (user_id)
      GROUP BY cohort, k HAVING k >= 0 AND k < ${periods} ORDER BY cohort, k`),
    ]),
    batchAll(dbs.payments, [
      rows<{ active_at_start: number; churned: number }>(sql`
      WITH s AS (SELECT created_at, COALESCE(ended_at, CASE WHEN status = 'canceled' THEN canceled_at END) AS ended
                 FROM subscriptions)
      SELECT SUM(CASE WHEN created_at < ${r.from} AND (ended IS NULL OR ended >= ${r.from}) THEN 1 ELSE 0 END) AS active_at_start,
             SUM(CASE WHEN ended >= ${r.from} AND ended < ${r.to} THEN 1 ELSE 0 END) AS churned
      FROM s`),
    ]),
  ]);

  const byCohort = new Map<number, number[]>();
  for (const c of cells) {
    const row = byCohort.get(c.cohort) ?? new Array<number>(periods).fill(0);
    row[c.k] = c.users;
    byCohort.set(c.cohort, row);
  }
  const last = periodIndexOf(r.to - 1, cohort);
  const matrix = [...byCohort.entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, counts]) => {
      const size = counts[0] ?? 0;
      const seen = (k: number) => index + k <= last;
      return {
        cohort: periodLabel(index, cohort),
        size,
        counts: counts.map((n, k) => (seen(k) ? n : null)),
        percentages: counts.map((n, k) => (seen(k) ? (pct(n, size) ?? 0) : null)),
      };
    });
  const c = churn[0] ?? { active_at_start: 0, churned: 0 };
  const active = c.active_at_start ?? 0;
  const churned = c.churned ?? 0;
  return {
    cohort,
    periods,
    cohorts: matrix,
    subscription_churn: { active_at_start: active, churned, churn_rate: pct(churned, active) },
  };
}
