import { getConfig } from "../platform/config";
import type { Deps } from "../platform/deps";
import { purgeOlderThan } from "./privacy";
import { DAY_MS } from "./reports/range";

/** Daily cron: raw events older than ANALYTICS_RETENTION_DAYS are deleted (DESIGN §7 privacy). */
export async function purgeExpiredAnalytics(deps: Deps, now = Date.now()): Promise<number> {
  const days = getConfig(deps.env).ANALYTICS_RETENTION_DAYS;
  return purgeOlderThan(deps.db, now - days * DAY_MS);
}
