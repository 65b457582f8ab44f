import { and, asc, eq, lt } from "drizzle-orm";
import type Stripe from "stripe";
import { webhookEvents } from "../../db/schema";
import type { Deps } from "../../platform/deps";
import { claim, runClaimed } from "./ledger";

/**
 * Applies events parked for `objectId` (an intent or subscription that did not exist
 * when they arrived), oldest first. Called right after the row is written, and after a
 * webhook parks itself (closing the race with a concurrent insert).
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
    const outcome = await runClaimed(deps, JSON.parse(row.payload) as Stripe.Event);
    if (outcome.status !== "deferred") applied++;
  }
  return applied;
}

/**
 * Sweep for a cron: retries parked events older than `olderThanMs` (their handlers
 * re-read Stripe), so nothing stays parked if the row appeared by another path.
 */
export async function retryDeferred(deps: Deps, olderThanMs = 5 * 60_000, limit = 50): Promise<number> {
  const rows = await deps.db
    .select({ objectId: webhookEvents.objectId })
    .from(webhookEvents)
    .where(and(eq(webhookEvents.status, "deferred"), lt(webhookEvents.receivedAt, Date.now() - olderThanMs)))
    // Oldest first: a retry re-stamps `received_at`, so an event parked again goes to the back
    // and a batch of old parked events can never keep others out of every sweep.
    .orderBy(asc(webhookEvents.receivedAt), asc(webhookEvents.id))
    .limit(limit);
  let applied = 0;
  for (const id of new Set(rows.map((r) => r.objectId))) if (id) applied += await drainDeferred(deps, id);
  return applied;
}
