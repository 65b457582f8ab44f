import type { Deps } from "../platform/deps";
import { now } from "../platform/ids";
import { claimDueHeld, claimStaleQueued, revertToHeld } from "./deliveries.service";
import { EnqueueError, enqueuePush } from "./notify";

// Per cron run; the next run (5 minutes later) picks up any remainder.
const MAX_PER_RUN = 5_000;
/**
 * A queued delivery untouched this long has lost its queue message: every live job touches
 * its rows at least every 10 minutes (the longest backoff), and a retry waiting on a longer
 * Retry-After has `not_before` in the future.
 */
export const STALE_QUEUED_MS = 20 * 60_000;

/**
 * Every 5 minutes: releases pushes held by quiet hours once their window has ended, and
 * re-enqueues queued deliveries whose queue message was lost (a consumer cancelled after
 * claiming them, say); the claim step keeps a duplicate job from sending twice.
 * `at` is the clock to judge by; the cron passes nothing and gets now.
 */
export async function releaseHeldPushes(deps: Deps, at: number = now()): Promise<number> {
  const ids = await claimDueHeld(deps.db, at, MAX_PER_RUN);
  let released = 0;
  if (ids.length > 0) {
    try {
      await enqueuePush(deps, ids);
      released = ids.length;
    } catch (err) {
      // Back to held, so the next run tries again instead of leaving them queued forever.
      const unsent = err instanceof EnqueueError ? err.unsent : ids;
      deps.logger.warn("releasing held pushes failed; will retry next run", { count: unsent.length, err });
      await revertToHeld(deps.db, unsent);
      released = ids.length - unsent.length;
    }
  }
  // Staleness is judged by the real clock: `at` only says when quiet hours count as over.
  return released + (await requeueStalePushes(deps));
}

/** Re-enqueues deliveries left `queued` and untouched for STALE_QUEUED_MS before `at`. */
export async function requeueStalePushes(deps: Deps, at: number = now()): Promise<number> {
  const stale = await claimStaleQueued(deps.db, at, STALE_QUEUED_MS, MAX_PER_RUN);
  if (stale.length === 0) return 0;
  deps.logger.warn("re-enqueueing queued pushes whose job was lost", { count: stale.length });
  try {
    await enqueuePush(deps, stale);
  } catch (err) {
    // They stay queued and untouched-looking again after STALE_QUEUED_MS: a later run retries.
    deps.logger.warn("re-enqueueing stale pushes failed", { count: stale.length, err });
    return 0;
  }
  return stale.length;
}
