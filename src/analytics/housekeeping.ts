import { sql } from "drizzle-orm";
import type { Deps } from "../platform/deps";
import type { Db } from "../platform/types";
import { archiveDay } from "./archive";
import { purgeSessionTouches } from "./attribution";
import { batchAll, rows } from "./reports/sql";
import { ACTIVITY_BUCKET_MS, DAY_MS } from "./store";

/** Days archived per cron run at most; what is left goes the next night. */
const PURGE_MAX_DAYS = 31;

/**
 * Daily cron: raw events older than ANALYTICS_RETENTION_DAYS are archived to R2, one object
 * per UTC day, then deleted, and the rollups of that age with them (docs/analytics.md,
 * "Retention cron"). Returns how many raw events left D1.
 */
export async function purgeExpiredAnalytics(
  deps: Pick<Deps, "analyticsDb" | "config" | "env">,
  now = Date.now(),
): Promise<number> {
  const db = deps.analyticsDb;
  const cutoff = now - deps.config.ANALYTICS_RETENTION_DAYS * DAY_MS;
  // Erasure tombstones are NOT purged here: the events they cover outlive the cutoff in the R2
  // archive, which has no expiry, and the export and the archive's re-merge filter through them
  // (archive.ts, withoutErased). They go with the archive (SECURITY.md, "Retention"). The ingest
  // budgets purge themselves (ingest-budget.ts).
  let total = 0;
  for (let i = 0; i < PURGE_MAX_DAYS; i++) {
    const oldest = await db.$client
      .prepare("SELECT MIN(occurred_at) AS at FROM analytics_events WHERE occurred_at < ?1")
      .bind(cutoff)
      .first<{ at: number | null }>();
    if (oldest?.at == null) break;
    const deleted = await archiveDay(db, deps.env.ANALYTICS_ARCHIVE, Math.floor(oldest.at / DAY_MS), cutoff);
    // 0: another run holds that day (archive.ts, lease); it stays the oldest, so stop here.
    if (deleted === 0) break;
    total += deleted;
  }
  await purgeRollups(db, cutoff);
  return total;
}

/** Rollups hold no user ids, but they follow the same retention. */
async function purgeRollups(db: Db, cutoff: number): Promise<void> {
  await batchAll(db, [
    rows(sql`DELETE FROM analytics_daily WHERE day < ${Math.floor(cutoff / DAY_MS)}`),
    rows(sql`DELETE FROM analytics_activity WHERE bucket < ${Math.floor(cutoff / ACTIVITY_BUCKET_MS)}`),
    rows(sql`DELETE FROM analytics_sessions WHERE last_at < ${cutoff}`),
    rows(sql`DELETE FROM analytics_user_days WHERE day < ${Math.floor(cutoff / DAY_MS)}`),
    purgeSessionTouches(cutoff),
  ]);
}
