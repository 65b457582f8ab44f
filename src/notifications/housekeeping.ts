import { now } from "../platform/ids";
import type { HousekeepingDeps } from "../scheduled";
import { claimDueHeld, revertToHeld } from "./deliveries.repo";
import { enqueuePush } from "./notify";

// Per cron run; the next run (5 minutes later) picks up any remainder.
const MAX_PER_RUN = 5_000;

/**
 * Releases pushes held by quiet hours once their window has ended (every 5 minutes).
 * `at` is the clock to judge "ended" by; the cron passes nothing and gets now.
 */
export async function releaseHeldPushes(deps: HousekeepingDeps, at: number = now()): Promise<number> {
  const ids = await claimDueHeld(deps.db, at, MAX_PER_RUN);
  if (ids.length === 0) return 0;
  try {
    await enqueuePush(deps, ids);
  } catch (err) {
    // Back to held, so the next run tries again instead of leaving them queued forever.
    deps.logger.warn("releasing held pushes failed; will retry next run", { count: ids.length, err });
    await revertToHeld(deps.db, ids);
    return 0;
  }
  return ids.length;
}
