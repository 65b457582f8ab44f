import { getTableColumns } from "drizzle-orm";
import { payments } from "../db/schema";
import type { Deps } from "../platform/deps";
import { forbidden } from "../platform/errors";
import { assertRange, decodeCursor, pageOf } from "../platform/pagination";
import type { D1Client, Principal } from "../platform/types";
import { ownerOrAdmin } from "./access";
import type { HistoryQuery } from "./schemas";
import { PAYMENT_VIEW_KEYS, type PaymentViewRow, paymentView } from "./views";

/**
 * Keyset page over (created_at DESC, id DESC), served by payments_user_created_idx.
 * Users see only their own rows; an admin may name another user.
 */
export async function paymentHistory(deps: Deps, principal: Principal, q: HistoryQuery) {
  if (q.user_id !== undefined && !ownerOrAdmin(principal, q.user_id)) {
    throw forbidden("Only admins may read another user's history");
  }
  assertRange(q.from, q.to);
  const cursor = decodeCursor(q.cursor);
  const userId = q.user_id ?? principal.userId;

  const rows = await historyPage(deps.d1, userId, q, cursor);
  const page = pageOf(rows, q.limit, (r) => ({ t: r.createdAt, id: r.id }));
  return { items: page.items.map(paymentView), next_cursor: page.next_cursor };
}

// Column key, SQL name and decoder of each column the view needs (views.ts, PAYMENT_VIEW_KEYS),
// taken from the drizzle table once, so rows map exactly as drizzle maps them (json metadata
// parsed, enums as text).
const TABLE = getTableColumns(payments);
const COLUMNS = PAYMENT_VIEW_KEYS.map((key) => ({ key, name: TABLE[key].name, col: TABLE[key] }));
const SELECT = `SELECT ${COLUMNS.map((c) => `"${c.name}"`).join(", ")} FROM payments`;

type Statement = { sql: string; params: (string | number)[] };

/**
 * The page query. Equality on user_id, then a range on created_at and the keyset bound:
 * SQLite walks payments_user_created_idx (user_id, created_at, id) backwards and filters
 * status on the rows it visits, so neither a sort nor a count query is needed (the plan
 * is checked in test/payments/history-plan.test.ts). Static SQL text per filter shape and
 * a precomputed row mapper: drizzle's query builder and per-field result mapping were
 * ~15% of this endpoint's CPU in the profile (bench/notes/rest.md).
 */
export function historyStatement(
  userId: string,
  q: Pick<HistoryQuery, "status" | "from" | "to" | "limit">,
  cursor: { t: number; id: string } | null,
): Statement {
  const where = ["user_id = ?"];
  const params: (string | number)[] = [userId];
  if (q.status && q.status.length > 0) {
    where.push(`status IN (${q.status.map(() => "?").join(", ")})`);
    params.push(...q.status);
  }
  if (q.from !== undefined) {
    where.push("created_at >= ?");
    params.push(q.from);
  }
  if (q.to !== undefined) {
    where.push("created_at <= ?");
    params.push(q.to);
  }
  if (cursor) {
    where.push("(created_at < ? OR (created_at = ? AND id < ?))");
    params.push(cursor.t, cursor.t, cursor.id);
  }
  params.push(q.limit + 1);
  return { sql: `${SELECT} WHERE ${where.join(" AND ")} ORDER BY created_at DESC, id DESC LIMIT ?`, params };
}

function toPaymentRow(raw: Record<string, unknown>): PaymentViewRow {
  const row: Record<string, unknown> = {};
  for (const { key, name, col } of COLUMNS) {
    const v = raw[name];
    row[key] = v === null || v === undefined ? null : col.mapFromDriverValue(v);
  }
  return row as PaymentViewRow;
}

async function historyPage(
  d1: D1Client,
  userId: string,
  q: HistoryQuery,
  cursor: { t: number; id: string } | null,
): Promise<PaymentViewRow[]> {
  const st = historyStatement(userId, q, cursor);
  const { results } = await d1
    .prepare(st.sql)
    .bind(...st.params)
    .all<Record<string, unknown>>();
  return results.map(toPaymentRow);
}
