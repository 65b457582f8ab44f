import type { Deps } from "../platform/deps";
import { now } from "../platform/ids";
import {
  claimDueHeld,
  claimEnqueueFailed,
  claimStaleQueued,
  claimStuckSending,
  ENQUEUE_FAILED,
  markUnsendable,
  revertToHeld,
} from "./deliveries.service";
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
 * A `sending` row claimed longer ago than this belongs to a run that is gone: a queue consumer
 * invocation lives at most 15 minutes of wall time, and each FCM request is bounded by
 * FCM_TIMEOUT_MS, so a live run has written every outcome long before.
 */
export const SENDING_STALE_MS = 15 * 60_000;

/**
 * Every 5 minutes: releases pushes held by quiet hours once their window has ended,
 * re-enqueues deliveries whose enqueue failed, re-queues deliveries a dead consumer run left `sending`, and re-enqueues queued deliveries
 * whose queue message was lost (a failed enqueue, say); the claim step keeps a duplicate job
 * from sending twice.
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
  return (
    released +
    (await requeueEnqueueFailed(deps)) +
    (await requeueStuckSending(deps)) +
    (await requeueStalePushes(deps))
  );
}

/**
 * Re-enqueues deliveries whose push job the queue refused after their rows were committed
 * (`failed`, ENQUEUE_FAILED): a test send has no sink to retry it, and a sink delivery may
 * have given up. What the queue refuses again goes back to ENQUEUE_FAILED for the next run.
 * A duplicate job is harmless: the consumer claims each delivery before sending it.
 */
export async function requeueEnqueueFailed(deps: Deps): Promise<number> {
  const ids = await claimEnqueueFailed(deps.db, MAX_PER_RUN);
  if (ids.length === 0) return 0;
  try {
    await enqueuePush(deps, ids);
    return ids.length;
  } catch (err) {
    const unsent = err instanceof EnqueueError ? err.unsent : ids;
    deps.logger.warn("re-enqueueing pushes whose enqueue failed, failed; next run retries", {
      count: unsent.length,
      err,
    });
    await markUnsendable(deps.db, unsent, ENQUEUE_FAILED);
    return ids.length - unsent.length;
  }
}

/** Enqueues swept rows; on failure they stay `queued`, and the stale sweep tries again later. */
async function requeue(deps: Deps, ids: string[], what: string): Promise<number> {
  if (ids.length === 0) return 0;
  deps.logger.warn(`re-enqueueing ${what}`, { count: ids.length });
  try {
    await enqueuePush(deps, ids);
  } catch (err) {
    deps.logger.warn(`re-enqueueing ${what} failed; a later run retries`, { count: ids.length, err });
    return 0;
  }
  return ids.length;
}

/**
 * Re-queues deliveries left `sending` by a run that died between claiming and writing the
 * outcome (or whose outcome write failed twice). Their push may have reached the device:
 * FCM v1 has no idempotency key, so this is the documented at-least-once window.
 */
export async function requeueStuckSending(deps: Deps, at: number = now()): Promise<number> {
  const stuck = await claimStuckSending(deps.db, at, SENDING_STALE_MS, MAX_PER_RUN);
  return requeue(deps, stuck, "pushes left sending by a dead run (may duplicate)");
}

/** Re-enqueues deliveries left `queued` and untouched for STALE_QUEUED_MS before `at`. */
export async function requeueStalePushes(deps: Deps, at: number = now()): Promise<number> {
  const stale = await claimStaleQueued(deps.db, at, STALE_QUEUED_MS, MAX_PER_RUN);
  return requeue(deps, stale, "queued pushes whose job was lost");
}
