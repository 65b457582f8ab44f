import { sql } from "drizzle-orm";
import { toDecimalString } from "../../platform/money";
import type { Db } from "../../platform/types";
import type { Range } from "./range";
import { batchAll, rows } from "./sql";

export const ATTRIBUTION_MODELS = ["first_touch", "last_touch"] as const;
export type AttributionModel = (typeof ATTRIBUTION_MODELS)[number];

/** Revenue no touch explains, named as web analytics usually names it. */
export const DIRECT = { source: "(direct)", medium: "(none)", campaign: "(none)" } as const;
/**
 * Payments read per page. Each page's users are looked up in one query whose ids travel as one
 * JSON parameter (json_each), so neither side ever comes near D1's 100 bound parameters.
 */
export const PAYMENTS_PAGE = 1000;

type Paid = { id: string; user_id: string; currency: string; amount: number; refunded: number; paid: number };
type StoredTouch = { at: number; source: string; medium: string | null; campaign: string | null };
export type UserTouches = { first?: StoredTouch; last?: StoredTouch };

// Captured at some point, whatever happened afterwards: the same set as reports/revenue.ts.
const CAPTURED = sql`('succeeded', 'partially_refunded', 'refunded', 'disputed')`;
const PAID_AT = sql`COALESCE(paid_at, created_at)`;

/** DB side: one page of captured payments in the range, keyset by (payment time, id). */
export async function paymentsPage(db: Db, r: Range, after: { paid: number; id: string } | null) {
  const cursor = after ? sql`AND (${PAID_AT}, id) > (${after.paid}, ${after.id})` : sql``;
  const [page] = await batchAll(db, [
    rows<Paid>(sql`SELECT id, user_id, currency, amount, amount_refunded AS refunded, ${PAID_AT} AS paid
      FROM payments WHERE status IN ${CAPTURED} AND ${PAID_AT} >= ${r.from} AND ${PAID_AT} < ${r.to} ${cursor}
      ORDER BY paid, id LIMIT ${PAYMENTS_PAGE}`),
  ]);
  return page;
}

/** ANALYTICS_DB side: the stored first and last touch of each of these users. */
export async function touchesOf(adb: Db, users: string[]): Promise<Map<string, UserTouches>> {
  const [found] = await batchAll(adb, [
    rows<StoredTouch & { actor: string; model: "first" | "last" }>(sql`
      SELECT actor, model, occurred_at AS at, source, medium, campaign FROM analytics_touches
      WHERE scope = 'user' AND actor IN (SELECT value FROM json_each(${JSON.stringify(users)}))`),
  ]);
  const byUser = new Map<string, UserTouches>();
  for (const { actor, model, ...touch } of found) {
    byUser.set(actor, { ...byUser.get(actor), [model]: touch });
  }
  return byUser;
}

/**
 * The touch a payment is credited to. Only a touch at or before the payment counts: first touch
 * is then exact (the earliest touch is later than the payment, so none came before it). Last
 * touch is the later of the two stored touches that came before the payment: exact unless the
 * user's latest touch came after it, when the first touch stands in for the unknown ones between.
 */
export function creditedTouch(t: UserTouches | undefined, paid: number, model: AttributionModel) {
  const before = (x: StoredTouch | undefined) => (x && x.at <= paid ? x : undefined);
  const first = before(t?.first);
  if (model === "first_touch") return first;
  return before(t?.last) ?? first;
}

type Totals = { amount: number; refunded: number; payments: number };
type Group<K> = K & Totals & { currency: string };
function add<K extends Record<string, string>>(
  to: Map<string, Group<K>>,
  key: K & { currency: string },
  p: Paid,
) {
  const id = JSON.stringify(key);
  const g = to.get(id) ?? { ...key, amount: 0, refunded: 0, payments: 0 };
  to.set(id, {
    ...g,
    amount: g.amount + p.amount,
    refunded: g.refunded + p.refunded,
    payments: g.payments + 1,
  });
}

/**
 * Revenue by UTM source (docs/analytics.md, "Attribution"): captured payments from DB, page by
 * page, each credited in code to a touch from ANALYTICS_DB. Never a join across the databases.
 */
export async function revenueBySource(
  sources: { payments: Db; analytics: Db },
  r: Range,
  model: AttributionModel,
) {
  const bySource = new Map<string, Group<{ source: string }>>();
  const byCampaign = new Map<string, Group<{ source: string; medium: string; campaign: string }>>();
  let after: { paid: number; id: string } | null = null;
  for (;;) {
    const page = await paymentsPage(sources.payments, r, after);
    if (page.length === 0) break;
    const touches = await touchesOf(sources.analytics, [...new Set(page.map((p) => p.user_id))]);
    for (const p of page) {
      const t = creditedTouch(touches.get(p.user_id), p.paid, model);
      const source = t?.source ?? DIRECT.source;
      const medium = t ? (t.medium ?? DIRECT.medium) : DIRECT.medium;
      const campaign = t ? (t.campaign ?? DIRECT.campaign) : DIRECT.campaign;
      add(bySource, { source, currency: p.currency }, p);
      add(byCampaign, { source, medium, campaign, currency: p.currency }, p);
    }
    const last = page.at(-1);
    if (page.length < PAYMENTS_PAGE || !last) break;
    after = { paid: last.paid, id: last.id };
  }
  return { model, by_source: sorted(bySource), by_campaign: sorted(byCampaign) };
}

/** Largest first; equal amounts by key, so the order never depends on page boundaries. */
function sorted<K>(m: Map<string, Group<K>>) {
  return [...m]
    .sort(([ka, a], [kb, b]) => b.amount - a.amount || ka.localeCompare(kb))
    .map(([, g]) => ({ ...g, amount_decimal: toDecimalString(g.amount, g.currency) }));
}
