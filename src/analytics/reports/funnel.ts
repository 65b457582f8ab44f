import { z } from "@hono/zod-openapi";
import { type SQL, sql } from "drizzle-orm";
import { ANALYTICS_EVENT_TYPES, type AnalyticsEventType } from "../../db/schema/analytics";
import type { Db } from "../../platform/types";
import { pct, type Range } from "./range";

export type FunnelStep = { event_type: AnalyticsEventType; page: string | null };

/**
 * `steps=page_view:/pricing,button_click,payment_completed`: 2–8 comma-separated specs,
 * each an event type, optionally `:<page>` to match that page exactly.
 */
export const stepsParam = z
  .string()
  .max(1000)
  .transform((raw, ctx) => {
    const specs = raw.split(",").map((s) => s.trim());
    if (specs.length < 2 || specs.length > 8) {
      ctx.addIssue({ code: "custom", message: "give 2 to 8 comma-separated steps" });
      return z.NEVER;
    }
    const steps: FunnelStep[] = [];
    for (const spec of specs) {
      const sep = spec.indexOf(":");
      const type = sep < 0 ? spec : spec.slice(0, sep);
      const page = sep < 0 ? null : spec.slice(sep + 1);
      if (!(ANALYTICS_EVENT_TYPES as readonly string[]).includes(type) || page === "") {
        ctx.addIssue({ code: "custom", message: `unknown step "${spec}": use <event_type>[:<page>]` });
        return z.NEVER;
      }
      steps.push({ event_type: type as AnalyticsEventType, page });
    }
    return steps;
  })
  .openapi({ type: "string", example: "page_view:/pricing,button_click,payment_completed" });

const match = (alias: string, s: FunnelStep): SQL =>
  s.page === null
    ? sql`${sql.raw(alias)}.event_type = ${s.event_type}`
    : sql`${sql.raw(alias)}.event_type = ${s.event_type} AND ${sql.raw(alias)}.page = ${s.page}`;

/**
 * Ordered funnel, computed in one SQL statement. The actor is the user, or the session
 * when the event is anonymous. An actor enters at their FIRST step-1 event in the range;
 * step k is the earliest matching event strictly after step k−1 and no later than
 * step-1 time + window. Repeats of a step count once; out-of-order events do not match.
 * All steps must fall inside [from, to).
 */
export async function conversionFunnel(db: Db, r: Range, steps: FunnelStep[], windowMs: number) {
  // One small table per step (events matching it, from the covering (type, time, page,
  // user, session) index), so each join reads only its own step's candidates.
  const ctes: SQL[] = steps.map(
    (step, i) => sql`${sql.raw(`e${i + 1}`)} AS MATERIALIZED (
      SELECT COALESCE(user_id, 's:' || session_id) AS actor, occurred_at FROM analytics_events
      WHERE ${match("analytics_events", step)} AND occurred_at >= ${r.from} AND occurred_at < ${r.to})`,
  );
  ctes.push(sql`s1 AS (SELECT actor, MIN(occurred_at) AS t, MIN(occurred_at) AS t0 FROM e1 GROUP BY actor)`);
  steps.slice(1).forEach((_, i) => {
    const [prev, cur, ev] = [`s${i + 1}`, `s${i + 2}`, `e${i + 2}`].map((n) => sql.raw(n));
    ctes.push(sql`${cur} AS (SELECT p.actor, MIN(e.occurred_at) AS t, p.t0 FROM ${prev} p
      JOIN ${ev} e ON e.actor = p.actor AND e.occurred_at > p.t AND e.occurred_at <= p.t0 + ${windowMs}
      GROUP BY p.actor)`);
  });
  // Per step: how many reached it, and the median of the time from the previous step.
  const deltas = steps.map((_, i) =>
    i === 0
      ? sql`SELECT 1 AS k, actor, NULL AS d FROM s1`
      : sql`SELECT ${i + 1} AS k, c.actor, c.t - p.t AS d FROM ${sql.raw(`s${i + 1}`)} c JOIN ${sql.raw(`s${i}`)} p ON p.actor = c.actor`,
  );
  const rows = await db.all<{ k: number; reached: number; median_ms: number | null }>(sql`
    WITH ${sql.join(ctes, sql`, `)},
    d AS (${sql.join(deltas, sql` UNION ALL `)}),
    ranked AS (SELECT k, d, ROW_NUMBER() OVER (PARTITION BY k ORDER BY d) AS rn, COUNT(*) OVER (PARTITION BY k) AS c FROM d)
    SELECT k, MAX(c) AS reached, AVG(CASE WHEN rn IN ((c + 1) / 2, (c + 2) / 2) THEN d END) AS median_ms
    FROM ranked GROUP BY k ORDER BY k`);

  const reached = steps.map((_, i) => rows.find((row) => row.k === i + 1)?.reached ?? 0);
  const first = reached[0] ?? 0;
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
      conversion_from_first: pct(entered, first),
      drop_off: prev - entered,
      drop_off_rate: i === 0 ? 0 : pct(prev - entered, prev),
      median_time_to_convert_ms: i === 0 || median === null ? null : Math.round(median),
    };
  });
}
