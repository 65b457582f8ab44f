import { and, eq, sql } from "drizzle-orm";
import type Stripe from "stripe";
import { webhookEvents } from "../../db/schema";
import type { Deps } from "../../platform/deps";
import { dispatch } from "./dispatch";
import type { Outcome } from "./types";

/**
 * Runs a claimed event and records how it ended. A throw marks it `failed` (and
 * propagates, so Stripe redelivers); `deferred` parks it under the missing object's id.
 */
export async function runClaimed(deps: Deps, event: Stripe.Event): Promise<Outcome> {
  let outcome: Outcome;
  try {
    outcome = await dispatch(deps, event);
  } catch (err) {
    await deps.db
      .update(webhookEvents)
      .set({ status: "failed", error: err instanceof Error ? err.message.slice(0, 500) : "error" })
      .where(eq(webhookEvents.id, event.id));
    throw err;
  }
  await deps.db
    .update(webhookEvents)
    .set({
      status: outcome.status,
      ...(outcome.status === "deferred" ? { objectId: outcome.key } : {}),
      error: outcome.status === "ignored" ? outcome.why : null,
      processedAt: outcome.status === "deferred" ? null : Date.now(),
    })
    .where(eq(webhookEvents.id, event.id));
  return outcome;
}

/** Claims a parked or failed event for another attempt; false if someone else has it. */
export async function claim(
  deps: Deps,
  id: string,
  from: "deferred" | "failed" | "received",
): Promise<boolean> {
  const rows = await deps.db
    .update(webhookEvents)
    .set({ status: "received", attempts: sql`${webhookEvents.attempts} + 1`, receivedAt: Date.now() })
    .where(and(eq(webhookEvents.id, id), eq(webhookEvents.status, from)))
    .returning({ id: webhookEvents.id });
  return rows.length === 1;
}
