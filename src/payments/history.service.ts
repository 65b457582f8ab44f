import type { z } from "@hono/zod-openapi";
import { and, desc, eq, gte, inArray, lt, lte, or, type SQL } from "drizzle-orm";
import { payments } from "../db/schema";
import type { Principal } from "../platform/auth";
import { forbidden } from "../platform/errors";
import { assertRange, decodeCursor, pageOf } from "../platform/pagination";
import type { Db } from "../platform/types";
import { isAdmin, type PaymentDeps } from "./deps";
import type { historyQuery } from "./schemas";
import { paymentView } from "./views";

/**
 * Keyset page over (created_at DESC, id DESC), served by payments_user_created_idx.
 * Users see only their own rows; an admin may name another user.
 */
export async function paymentHistory(
  deps: PaymentDeps,
  principal: Principal,
  q: z.infer<typeof historyQuery>,
) {
  if (q.user_id !== undefined && q.user_id !== principal.userId && !isAdmin(principal)) {
    throw forbidden("Only admins may read another user's history");
  }
  assertRange(q.from, q.to);
  const cursor = decodeCursor(q.cursor);
  const userId = q.user_id ?? principal.userId;

  const rows = await historyPageQuery(deps.db, userId, q, cursor);
  const page = pageOf(rows, q.limit, (r) => ({ t: r.createdAt, id: r.id }));
  return { items: page.items.map(paymentView), next_cursor: page.next_cursor };
}

/**
 * The page query. Equality on user_id, then a range on created_at and the keyset bound:
 * SQLite walks payments_user_created_idx (user_id, created_at, id) backwards and filters
 * status on the rows it visits, so neither a sort nor a count query is needed (the plan
 * is checked in test/payments/history-plan.test.ts).
 */
export function historyPageQuery(
  db: Db,
  userId: string,
  q: Pick<z.infer<typeof historyQuery>, "status" | "from" | "to" | "limit">,
  cursor: { t: number; id: string } | null,
) {
  const conds: (SQL | undefined)[] = [eq(payments.userId, userId)];
  if (q.status && q.status.length > 0) conds.push(inArray(payments.status, q.status));
  if (q.from !== undefined) conds.push(gte(payments.createdAt, q.from));
  if (q.to !== undefined) conds.push(lte(payments.createdAt, q.to));
  if (cursor) {
    conds.push(
      or(lt(payments.createdAt, cursor.t), and(eq(payments.createdAt, cursor.t), lt(payments.id, cursor.id))),
    );
  }
  return db
    .select()
    .from(payments)
    .where(and(...conds))
    .orderBy(desc(payments.createdAt), desc(payments.id))
    .limit(q.limit + 1);
}
