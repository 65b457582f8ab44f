import { type SQL, sql } from "drizzle-orm";
import { toDecimalString } from "../../platform/money";
import type { Db } from "../../platform/types";
import type { Range } from "./range";
import { batchAll, rows } from "./sql";

export type Interval = "day" | "week" | "month";

/** Period label of an epoch-ms column: "2026-03-05", the Monday of the week, or "2026-03". */
export function periodOf(col: SQL, interval: Interval): SQL {
  const t = sql`${col} / 1000, 'unixepoch'`;
  if (interval === "day") return sql`strftime('%Y-%m-%d', ${t})`;
  if (interval === "month") return sql`strftime('%Y-%m', ${t})`;
  return sql`date(${t}, 'weekday 0', '-6 days')`;
}

// Payments that were captured at some point, whatever happened afterwards.
const CAPTURED = sql`('succeeded', 'partially_refunded', 'refunded', 'disputed')`;
// Subscriptions that count towards MRR (trials pay nothing yet; ended ones are gone).
const BILLING = sql`('active', 'past_due')`;
const money = (amount: number, currency: string) => ({
  amount,
  amount_decimal: toDecimalString(amount, currency),
});

/**
 * Gross is captured payments by paid_at (created_at when missing); refunds are refund
 * rows by their own created_at, so a refund lands in the period it happened. Net = gross
 * − refunds, per period and currency. MRR/ARR are "now", from current subscriptions,
 * yearly plans divided by 12; movements are summed from mrr_movements in the range.
 */
export async function revenue(db: Db, r: Range, interval: Interval) {
  const paid = sql`COALESCE(paid_at, created_at)`;
  const [gross, refunds, bySource, byCampaign, mrr, movements, opening, mrrDeltas] = await batchAll(db, [
    rows<{ period: string; currency: string; amount: number; payments: number }>(sql`
      SELECT ${periodOf(paid, interval)} AS period, currency, SUM(amount) AS amount, COUNT(*) AS payments
      FROM payments WHERE status IN ${CAPTURED} AND ${paid} >= ${r.from} AND ${paid} < ${r.to}
      GROUP BY period, currency`),
    rows<{ period: string; currency: string; amount: number }>(sql`
      SELECT ${periodOf(sql`created_at`, interval)} AS period, currency, SUM(amount) AS amount
      FROM refunds WHERE status NOT IN ('failed', 'canceled') AND created_at >= ${r.from} AND created_at < ${r.to}
      GROUP BY period, currency`),
    rows<{ source: string; currency: string; amount: number; refunded: number; payments: number }>(sql`
      SELECT COALESCE(source, 'unknown') AS source, currency, SUM(amount) AS amount,
             SUM(amount_refunded) AS refunded, COUNT(*) AS payments
      FROM payments WHERE status IN ${CAPTURED} AND ${paid} >= ${r.from} AND ${paid} < ${r.to}
      GROUP BY source, currency ORDER BY amount DESC`),
    rows<{ campaign_id: string; currency: string; amount: number; refunded: number; payments: number }>(sql`
      SELECT campaign_id, currency, SUM(amount) AS amount, SUM(amount_refunded) AS refunded, COUNT(*) AS payments
      FROM payments WHERE status IN ${CAPTURED} AND campaign_id IS NOT NULL AND ${paid} >= ${r.from} AND ${paid} < ${r.to}
      GROUP BY campaign_id, currency ORDER BY amount DESC LIMIT 50`),
    rows<{ currency: string; mrr: number; subscriptions: number }>(sql`
      SELECT currency,
             ROUND(SUM(CASE WHEN interval = 'year' THEN amount * quantity / 12.0 ELSE amount * quantity END)) AS mrr,
             COUNT(*) AS subscriptions
      FROM subscriptions WHERE status IN ${BILLING} GROUP BY currency`),
    rows<{ currency: string; kind: string; amount: number; count: number }>(sql`
      SELECT currency, kind, SUM(ABS(mrr_after - mrr_before)) AS amount, COUNT(*) AS count
      FROM mrr_movements WHERE occurred_at >= ${r.from} AND occurred_at < ${r.to} GROUP BY currency, kind`),
    rows<{ currency: string; mrr: number }>(sql`
      SELECT currency, SUM(mrr_after - mrr_before) AS mrr FROM mrr_movements WHERE occurred_at < ${r.from}
      GROUP BY currency`),
    rows<{ period: string; currency: string; delta: number }>(sql`
      SELECT ${periodOf(sql`occurred_at`, interval)} AS period, currency, SUM(mrr_after - mrr_before) AS delta
      FROM mrr_movements WHERE occurred_at >= ${r.from} AND occurred_at < ${r.to}
      GROUP BY period, currency ORDER BY period`),
  ]);

  return {
    interval,
    periods: netPeriods(gross, refunds),
    by_source: bySource.map((s) => ({ ...s, ...money(s.amount, s.currency) })),
    by_campaign: byCampaign.map((s) => ({ ...s, ...money(s.amount, s.currency) })),
    mrr: mrr.map((m) => ({
      currency: m.currency,
      subscriptions: m.subscriptions,
      mrr: m.mrr,
      mrr_decimal: toDecimalString(m.mrr, m.currency),
      arr: m.mrr * 12,
      arr_decimal: toDecimalString(m.mrr * 12, m.currency),
    })),
    mrr_movements: movementTotals(movements),
    mrr_series: mrrSeries(opening, mrrDeltas),
  };
}

function netPeriods(
  gross: Array<{ period: string; currency: string; amount: number; payments: number }>,
  refunds: Array<{ period: string; currency: string; amount: number }>,
) {
  const rows = new Map<
    string,
    { period: string; currency: string; gross: number; refunds: number; payments: number }
  >();
  const at = (period: string, currency: string) => {
    const key = `${period}|${currency}`;
    let row = rows.get(key);
    if (!row) {
      row = { period, currency, gross: 0, refunds: 0, payments: 0 };
      rows.set(key, row);
    }
    return row;
  };
  for (const g of gross) Object.assign(at(g.period, g.currency), { gross: g.amount, payments: g.payments });
  for (const f of refunds) at(f.period, f.currency).refunds = f.amount;
  return [...rows.values()]
    .sort((a, b) => a.period.localeCompare(b.period) || a.currency.localeCompare(b.currency))
    .map((p) => ({
      ...p,
      net: p.gross - p.refunds,
      net_decimal: toDecimalString(p.gross - p.refunds, p.currency),
    }));
}

const KINDS = ["new", "expansion", "contraction", "churn", "reactivation"] as const;

function movementTotals(rows: Array<{ currency: string; kind: string; amount: number; count: number }>) {
  const currencies = [...new Set(rows.map((r) => r.currency))].sort();
  return currencies.map((currency) => {
    const of = (kind: string) => rows.find((r) => r.currency === currency && r.kind === kind);
    const totals = Object.fromEntries(KINDS.map((k) => [k, of(k)?.amount ?? 0])) as Record<
      (typeof KINDS)[number],
      number
    >;
    const counts = Object.fromEntries(KINDS.map((k) => [k, of(k)?.count ?? 0]));
    const net = totals.new + totals.expansion + totals.reactivation - totals.contraction - totals.churn;
    return { currency, ...totals, net_new_mrr: net, counts };
  });
}

/** MRR at the end of each period: opening balance plus the running sum of movements. */
function mrrSeries(
  opening: Array<{ currency: string; mrr: number }>,
  deltas: Array<{ period: string; currency: string; delta: number }>,
) {
  const running = new Map(opening.map((o) => [o.currency, o.mrr]));
  return deltas.map((d) => {
    const value = (running.get(d.currency) ?? 0) + d.delta;
    running.set(d.currency, value);
    return { period: d.period, currency: d.currency, mrr: value };
  });
}
