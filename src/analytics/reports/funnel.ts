import { type SQL, sql } from "drizzle-orm";
import type { AnalyticsEventType } from "../../db/schema/analytics";
import type { Db } from "../../platform/types";
import { pct, type Range } from "./range";
import { botFilter } from "./sql";

export type FunnelStep = { event_type: AnalyticsEventType; page: string | null };

const match = (s: FunnelStep): SQL =>
  s.page === null
    ? sql`event_type = ${s.event_type}`
    : sql`event_type = ${s.event_type} AND page = ${s.page}`;

/** Median of t_k − t_{k−1} over the actors who reached step k: sort once, read the middle one or two. */
const median = (k: number): SQL => {
  const [cur, prev] = [sql.raw(`t${k}`), sql.raw(`t${k - 1}`)];
  const reached = sql`(SELECT COUNT(${cur}) FROM f)`;
  return sql`(SELECT AVG(d) FROM (SELECT ${cur} - ${prev} AS d FROM f WHERE ${cur} IS NOT NULL
    ORDER BY d LIMIT 2 - ${reached} % 2 OFFSET (${reached} - 1) / 2))`;
};

/** The earliest event matching `step` for actor row `p` after `p.<after>`, within the window. */
function nextStep(
  p: string,
  after: string,
  step: FunnelStep,
  r: Range,
  windowMs: number,
  bots: boolean,
): SQL {
  const [row, prev] = [sql.raw(p), sql.raw(`${p}.${after}`)];
  const within = sql`occurred_at > ${prev} AND occurred_at <= ${row}.t1 + ${windowMs} AND occurred_at < ${r.to}
    AND ${match(step)} AND ${botFilter(bots)}`;
  // INDEXED BY: without table statistics the planner may prefer the (type, time) index and
  // scan every event of the type per actor; this way a lost index fails loudly instead.
  return sql`CASE WHEN ${prev} IS NULL THEN NULL
    WHEN ${row}.user_id IS NOT NULL THEN (SELECT MIN(occurred_at) FROM analytics_events
      INDEXED BY analytics_user_time_idx WHERE user_id = ${row}.user_id AND ${within})
    ELSE (SELECT MIN(occurred_at) FROM analytics_events INDEXED BY analytics_session_time_idx
      WHERE session_id = ${row}.sid AND user_id IS NULL AND ${within}) END`;
}

/** The funnel statement: one row per step (k, reached, median_ms). Exported for plan tests. */
export function funnelQuery(r: Range, steps: FunnelStep[], windowMs: number, bots = false): SQL {
  const [first, ...rest] = steps;
  if (!first) throw new RangeError("a funnel needs at least one step");
  // One row per actor: the user, or the session (sid) for anonymous events.
  const ctes: SQL[] = [
    sql`f1 AS (SELECT user_id, CASE WHEN user_id IS NULL THEN session_id END AS sid, MIN(occurred_at) AS t1
      FROM analytics_events WHERE ${match(first)} AND occurred_at >= ${r.from} AND occurred_at < ${r.to}
        AND ${botFilter(bots)}
      GROUP BY 1, 2)`,
  ];
  const cols = ["user_id", "sid", "t1"];
  rest.forEach((step, i) => {
    const k = i + 2;
    const prev = `f${k - 1}`;
    ctes.push(sql`${sql.raw(`f${k}`)} AS (SELECT ${sql.raw(cols.join(", "))},
      ${nextStep(prev, `t${k - 1}`, step, r, windowMs, bots)} AS ${sql.raw(`t${k}`)} FROM ${sql.raw(prev)})`);
    cols.push(`t${k}`);
  });
  // Every report section below reads the last table: compute it once.
  ctes.push(sql`f AS MATERIALIZED (SELECT * FROM ${sql.raw(`f${steps.length}`)})`);
  const sections = steps.map((_, i) =>
    i === 0
      ? sql`SELECT 1 AS k, COUNT(*) AS reached, NULL AS median_ms FROM f`
      : sql`SELECT ${i + 1}, COUNT(${sql.raw(`t${i + 1}`)}), ${median(i + 1)} FROM f`,
  );
  return sql`WITH ${sql.join(ctes, sql`, `)}
    ${sql.join(sections, sql` UNION ALL `)}`;
}

/**
 * Ordered funnel, computed in one SQL statement. The actor is the user, or the session
 * when the event is anonymous. An actor enters at their FIRST step-1 event in the range;
 * step k is the earliest matching event strictly after step k−1 and no later than
 * step-1 time + window. Repeats of a step count once; out-of-order events do not match.
 * All steps must fall inside [from, to).
 *
 * One row per actor (f1) from the covering (type, time) index, then each later step is a
 * correlated MIN over the actor's covering (user or session, time, type, page) index: one
 * short range per actor still in the funnel, rather than materialising and joining every
 * event of the step's type (bench/notes/rest.md). Bot events are skipped unless `bots`.
 */
export async function conversionFunnel(
  db: Db,
  r: Range,
  steps: FunnelStep[],
  windowMs: number,
  bots = false,
) {
  const rows = await db.all<{ k: number; reached: number; median_ms: number | null }>(
    funnelQuery(r, steps, windowMs, bots),
  );

  const reached = steps.map((_, i) => rows.find((row) => row.k === i + 1)?.reached ?? 0);
  const entered1 = reached[0] ?? 0;
  return steps.map((step, i) => {
    const entered = reached[i] ?? 0;
    const prev = i === 0 ? entered : (reached[i - 1] ?? 0);
    const next = reached[i + 1];
    const median = rows.find((row) => row.k === i + 1)?.median_ms ?? null;
    return {
      step: i + 1,
      event_type: step.event_type,
      page: step.page,
      entered,
      converted: next ?? null,
      conversion_from_previous: pct(entered, prev),
      conversion_from_first: pct(entered, entered1),
      drop_off: prev - entered,
      drop_off_rate: i === 0 ? 0 : pct(prev - entered, prev),
      median_time_to_convert_ms: i === 0 || median === null ? null : Math.round(median),
    };
  });
}
