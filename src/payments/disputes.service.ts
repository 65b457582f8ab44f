import { and, desc, eq, lt, or, type SQL } from "drizzle-orm";
import { disputes } from "../db/schema";
import type { Deps } from "../platform/deps";
import { decodeCursor, pageOf } from "../platform/pagination";
import type { DisputesQuery } from "./schemas";
import { disputeView } from "./views";

/** Admin list of disputes, newest first, with status and evidence due date. */
export async function listDisputes(deps: Deps, q: DisputesQuery) {
  const cursor = decodeCursor(q.cursor);
  const conds: (SQL | undefined)[] = [];
  if (q.status) conds.push(eq(disputes.status, q.status));
  if (cursor) {
    conds.push(
      or(lt(disputes.createdAt, cursor.t), and(eq(disputes.createdAt, cursor.t), lt(disputes.id, cursor.id))),
    );
  }
  const rows = await deps.db
    .select()
    .from(disputes)
    .where(and(...conds))
    .orderBy(desc(disputes.createdAt), desc(disputes.id))
    .limit(q.limit + 1);
  const page = pageOf(rows, q.limit, (r) => ({ t: r.createdAt, id: r.id }));
  return { items: page.items.map(disputeView), next_cursor: page.next_cursor };
}
