import { sql } from "drizzle-orm";
import type { Deps } from "../platform/deps";
import type { Db } from "../platform/types";
import { batchAll, rows } from "./reports/sql";
import { ACTIVITY_BUCKET_MS, DAY_MS } from "./store";

/**
 * Daily cron: raw events older than ANALYTICS_RETENTION_DAYS are deleted, and the rollups
 * with them (docs/analytics.md, "Retention cron").
 */
export async function purgeExpiredAnalytics(
  deps: Pick<Deps, "db" | "config">,
  now = Date.now(),
): Promise<number> {
  // Ingest quota rows count today's bytes; yesterday's is kept for a day around midnight.
  await deps.db.run(sql`DELETE FROM analytics_ingest_quota WHERE day < ${Math.floor(now / DAY_MS) - 1}`);
  return purgeOlderThan(deps.db, now - deps.config.ANALYTICS_RETENTION_DAYS * DAY_MS);
}

const PURGE_CHUNK = 5000;
const PURGE_MAX_CHUNKS = 100;

/**
 * Deletes events older than the cutoff in chunks, so one cron run never holds a long
 * write on D1; what is left over (past PURGE_MAX_CHUNKS) goes the next day.
 */
async function purgeOlderThan(db: Db, cutoff: number): Promise<number> {
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
