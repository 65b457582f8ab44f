import type { Deps } from "../platform/deps";
import { revenueBySource } from "./reports/attribution";
import { userBehavior } from "./reports/behavior";
import { conversionFunnel } from "./reports/funnel";
import { isoRange, resolveRange } from "./reports/range";
import { retention } from "./reports/retention";
import { revenue } from "./reports/revenue";
import type {
  BehaviorQuery,
  FunnelQuery,
  RetentionQuery,
  RevenueBySourceQuery,
  RevenueQuery,
} from "./schemas";

/*
 * The admin reports (docs/analytics.md, "Reports"). Each resolves the range first, so a bad
 * range is a 400 before any query runs, and echoes it in ISO form beside the report; the SQL
 * of each report lives in reports/.
 */
type ReportDeps = Pick<Deps, "db" | "analyticsDb">;

/*
 * Two databases (docs/analytics.md, "Where the data lives"): behaviour, funnel and cohorts read
 * ANALYTICS_DB (`analyticsDb`); revenue and subscription churn read the payments tables in DB
 * (`db`). No SQL joins across them: retention runs one query on each and combines in code.
 */

export async function behaviorReport(deps: ReportDeps, q: BehaviorQuery, now = Date.now()) {
  const range = resolveRange(q, now);
  return { range: isoRange(range), ...(await userBehavior(deps.analyticsDb, range, q.tz, q.include_bots)) };
}

export async function funnelReport(deps: ReportDeps, q: FunnelQuery, now = Date.now()) {
  const range = resolveRange(q, now);
  const steps = await conversionFunnel(deps.analyticsDb, range, q.steps, q.window, q.include_bots);
  return { range: isoRange(range), include_bots: q.include_bots, window_ms: q.window, steps };
}

export async function revenueReport(deps: ReportDeps, q: RevenueQuery, now = Date.now()) {
  const range = resolveRange(q, now);
  // Revenue reads payments in DB, which bot filtering does not touch (docs/analytics.md, "Bot filtering").
  return {
    range: isoRange(range),
    include_bots: q.include_bots,
    ...(await revenue(deps.db, range, q.interval)),
  };
}

export async function retentionReport(deps: ReportDeps, q: RetentionQuery, now = Date.now()) {
  const range = resolveRange(q, now);
  const sources = { analytics: deps.analyticsDb, payments: deps.db };
  const report = await retention(sources, range, q.cohort, q.periods, q.include_bots);
  return { range: isoRange(range), include_bots: q.include_bots, ...report };
}

/** Payments from DB, touches from ANALYTICS_DB, credited in code (reports/attribution.ts). */
export async function revenueBySourceReport(deps: ReportDeps, q: RevenueBySourceQuery, now = Date.now()) {
  const range = resolveRange(q, now);
  const sources = { analytics: deps.analyticsDb, payments: deps.db };
  return { range: isoRange(range), ...(await revenueBySource(sources, range, q.model)) };
}
