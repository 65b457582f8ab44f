import { and, asc, eq, lt, sql } from "drizzle-orm";
import type Stripe from "stripe";
import { webhookEvents } from "../../db/schema";
import type { Deps } from "../../platform/deps";
import { claim, runClaimed } from "./ledger";

/**
 * A parked event's re-run that throws (Stripe or D1 down) is put back with backoff: Stripe
 * was already answered 200 for it, so nobody would ever redeliver a `failed` one. After
 * MAX_RERUN_FAILURES it stays `failed` and is logged as an error for an operator.
 */
export const MAX_RERUN_FAILURES = 8;
/** Backoff doubles per failure from the sweep age, capped at 2^6 of it (5 min → 5.3 h). */
const MAX_BACKOFF_SHIFT = 6;

/**
 * Applies events parked for `objectId` (an intent or subscription that did not exist
 * when they arrived), oldest first. Called right after the row is written, and after a
 * webhook parks itself (closing the race with a concurrent insert). One event that throws
 * never stops the others, nor fails the caller (whose own write is already done).
 */
export async function drainDeferred(deps: Deps, objectId: string): Promise<number> {
  const parked = await deps.db
    .select()
    .from(webhookEvents)
    .where(and(eq(webhookEvents.objectId, objectId), eq(webhookEvents.status, "deferred")))
    .orderBy(asc(webhookEvents.stripeCreated), asc(webhookEvents.receivedAt));
  let applied = 0;
  for (const row of parked) {
    if (!(await claim(deps, row.id, "deferred"))) continue;
    try {
      const outcome = await runClaimed(deps, JSON.parse(row.payload) as Stripe.Event);
      if (outcome.status !== "deferred") applied++;
    } catch (err) {
      await parkAgain(deps, row.id, row.failures + 1, err);
    }
  }
  return applied;
}

/** runClaimed marked it `failed`; back to `deferred` (counted) unless it has failed too often. */
async function parkAgain(deps: Deps, id: string, failures: number, err: unknown): Promise<void> {
  const giveUp = failures >= MAX_RERUN_FAILURES;
  await deps.db
    .update(webhookEvents)
    .set({ status: giveUp ? "failed" : "deferred", failures })
    .where(and(eq(webhookEvents.id, id), eq(webhookEvents.status, "failed")));
  const fields = { event_id: id, failures, err };
  if (giveUp) deps.logger.error("parked webhook failed for good", fields);
  else deps.logger.warn("parked webhook re-run failed; will retry", fields);
}

/**
 * Sweep for a cron: retries parked events older than `olderThanMs` (their handlers
 * re-read Stripe), so nothing stays parked if the row appeared by another path. An event
 * whose re-run threw waits `olderThanMs · 2^failures` (capped) before the next try.
 */
export async function retryDeferred(deps: Deps, olderThanMs = 5 * 60_000, limit = 50): Promise<number> {
  const now = Date.now();
  const wait = sql`${olderThanMs} * (1 << min(${webhookEvents.failures}, ${MAX_BACKOFF_SHIFT}))`;
  const rows = await deps.db
    .select({ objectId: webhookEvents.objectId })
    .from(webhookEvents)
    .where(and(eq(webhookEvents.status, "deferred"), lt(webhookEvents.receivedAt, sql`${now} - ${wait}`)))
    // Oldest first: a retry re-stamps `received_at`, so an event parked again goes to the back
    // and a batch of old parked events can never keep others out of every sweep.
    .orderBy(asc(webhookEvents.receivedAt), asc(webhookEvents.id))
    .limit(limit);
  let applied = 0;
  for (const id of new Set(rows.map((r) => r.objectId))) {
    if (!id) continue;
    try {
      applied += await drainDeferred(deps, id);
    } catch (err) {
      // A read failing for one object (D1 hiccup) must not end the sweep for the rest.
      deps.logger.warn("deferred sweep could not drain an object", { object_id: id, err });
    }
  }
  return applied;
}
