import type { Route } from "../context";
import { route } from "../context";
import { invalidParam, noSuch } from "../errors";
import { allowOnly, int, str } from "../params";
import type { Store, StripeObject } from "../store";

type Row = { seq: number; body: string };

/**
 * `GET /v1/refunds` (Stripe's "List all refunds"): newest first, filtered by `charge` and/or
 * `payment_intent`, `limit` 1–100 (default 10), `starting_after`/`ending_before` cursors.
 * Since API 2022-11-15 a Charge no longer embeds its refunds, so this list is how a client
 * finds them (or `expand[]=refunds` on the charge, built from the same query).
 */
export function listRefunds(
  store: Store,
  filter: { charge?: string; payment_intent?: string },
  page: { limit: number; starting_after?: string; ending_before?: string },
) {
  const clauses = ["type = 'refund'"];
  const binds: (string | number)[] = [];
  if (filter.charge) {
    clauses.push("json_extract(body, '$.charge') = ?");
    binds.push(filter.charge);
  }
  if (filter.payment_intent) {
    clauses.push("json_extract(body, '$.payment_intent') = ?");
    binds.push(filter.payment_intent);
  }
  for (const [param, op] of [
    ["starting_after", "<"],
    ["ending_before", ">"],
  ] as const) {
    const cursor = page[param];
    if (!cursor) continue;
    const row = store.sql
      .exec<{ seq: number }>("SELECT rowid AS seq FROM objects WHERE id = ? AND type = 'refund'", cursor)
      .toArray()[0];
    if (!row) throw noSuch("refund", cursor, param);
    clauses.push(`rowid ${op} ?`);
    binds.push(row.seq);
  }
  const order = page.ending_before ? "ASC" : "DESC";
  const rows = store.sql
    .exec<Row>(
      `SELECT rowid AS seq, body FROM objects WHERE ${clauses.join(" AND ")} ORDER BY rowid ${order} LIMIT ?`,
      ...binds,
      page.limit + 1,
    )
    .toArray();
  const data = rows.slice(0, page.limit);
  if (order === "ASC") data.reverse();
  return {
    object: "list" as const,
    data: data.map((r) => JSON.parse(r.body) as StripeObject),
    has_more: rows.length > page.limit,
    url: "/v1/refunds",
  };
}

export const refundListRoutes: Route[] = [
  route("GET", "/v1/refunds", ({ store, params }) => {
    allowOnly(params, ["charge", "payment_intent", "limit", "starting_after", "ending_before"]);
    const limit = int(params, "limit") ?? 10;
    if (limit < 1 || limit > 100)
      throw invalidParam("limit", "This value must be between 1 and 100.", "parameter_invalid_integer");
    const opt = (key: string) => str(params, key) || undefined;
    return listRefunds(
      store,
      { charge: opt("charge"), payment_intent: opt("payment_intent") },
      { limit, starting_after: opt("starting_after"), ending_before: opt("ending_before") },
    );
  }),
];
