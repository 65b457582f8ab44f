import { sql } from "drizzle-orm";
import type { Db } from "../platform/types";
import { batchAll, rows } from "./reports/sql";
import { ACTIVITY_BUCKET_MS, DAY_MS } from "./store";

/** Erases one user's raw events (the D1 rows; AE points age out with AE's own retention). */
export async function eraseUserEvents(db: Db, userId: string): Promise<number> {
  const res = await db.run(sql`DELETE FROM analytics_events WHERE user_id = ${userId}`);
  return res.meta.changes ?? 0;
}

export const PURGE_CHUNK = 5000;
export const PURGE_MAX_CHUNKS = 100;

/**
 * Deletes events older than the cutoff in chunks, so one cron run never holds a long
 * write on D1; what is left over (past PURGE_MAX_CHUNKS) goes the next day.
 */
export async function purgeOlderThan(db: Db, cutoff: number): Promise<number> {
  let total = 0;
  for (let i = 0; i < PURGE_MAX_CHUNKS; i++) {
    const res = await db.run(sql`DELETE FROM analytics_events WHERE id IN (
      SELECT id FROM analytics_events WHERE occurred_at < ${cutoff} LIMIT ${PURGE_CHUNK})`);
    const n = res.meta.changes ?? 0;
    total += n;
    if (n < PURGE_CHUNK) break;
  }
  // Rollups hold no user ids, but they follow the same retention.
  await batchAll(db, [
    rows(sql`DELETE FROM analytics_daily WHERE day < ${Math.floor(cutoff / DAY_MS)}`),
    rows(sql`DELETE FROM analytics_activity WHERE bucket < ${Math.floor(cutoff / ACTIVITY_BUCKET_MS)}`),
    rows(sql`DELETE FROM analytics_sessions WHERE last_at < ${cutoff}`),
  ]);
  return total;
}
