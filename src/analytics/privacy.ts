import { sql } from "drizzle-orm";
import type { Db } from "../platform/types";
import { batchAll, rows } from "./reports/sql";
import { ACTIVITY_BUCKET_MS, DAY_MS } from "./store";

/**
 * Erases one user's events and the rollup that names them (analytics_user_days); the
 * other rollups are anonymous counts. AE points age out with AE's own retention.
 */
export async function eraseUserEvents(db: Db, userId: string): Promise<number> {
  const [deleted] = await batchAll(db, [
    rows<{ n: number }>(sql`DELETE FROM analytics_events WHERE user_id = ${userId} RETURNING 1 AS n`),
    rows(sql`DELETE FROM analytics_user_days WHERE user_id = ${userId}`),
  ]);
  return deleted.length;
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
    rows(sql`DELETE FROM analytics_user_days WHERE day < ${Math.floor(cutoff / DAY_MS)}`),
  ]);
  return total;
}
