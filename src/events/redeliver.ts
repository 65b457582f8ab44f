import { sql } from "drizzle-orm";
import { domainEvents } from "../db/schema";
import type { Deps } from "../platform/deps";
import { now } from "../platform/ids";
import { countDead } from "./admin.service";
import { attemptSinks, type Claim, claimDue, recordOutcomes } from "./deliveries";
import type { DomainEvent } from "./types";

// Deliveries per cron run (one claim statement each, in one batch); the next run takes the rest.
const MAX_PER_RUN = 100;

export type RedeliveryResult = { attempted: number; delivered: number; failed: number; dead: number };

/**
 * Cron job (every 5 minutes): retries sink deliveries still `pending` whose backoff (or the
 * lease of a lost attempt) has run out by `at`. Claims first, so two overlapping runs never
 * run the same (event, sink) twice; the sinks are idempotent per event id in any case.
 * `at` is the clock to judge by; the cron passes nothing and gets now.
 */
export async function retryEventSinks(deps: Deps, at: number = now()): Promise<RedeliveryResult> {
  const claims = await claimDue(deps.db, at, MAX_PER_RUN);
  const result: RedeliveryResult = { attempted: claims.length, delivered: 0, failed: 0, dead: 0 };
  if (claims.length > 0) await retryClaims(deps, claims, result);
  // Dead deliveries are never silent: every run says how many wait for an operator.
  result.dead = await countDead(deps.db);
  if (result.dead > 0) {
    deps.logger.error("dead event sink deliveries wait for a re-drive (POST /api/v1/events/admin/redrive)", {
      dead: result.dead,
    });
  }
  return result;
}

async function retryClaims(
  deps: Deps,
  claims: Array<Claim & { eventId: string }>,
  result: RedeliveryResult,
): Promise<void> {
  const byEvent = new Map<string, Claim[]>();
  for (const c of claims) byEvent.set(c.eventId, [...(byEvent.get(c.eventId) ?? []), c]);
  // One JSON parameter: D1 binds at most 100 per statement.
  const ids = JSON.stringify([...byEvent.keys()]);
  const rows = await deps.db
    .select()
    .from(domainEvents)
    .where(sql`${domainEvents.id} IN (SELECT value FROM json_each(${ids}))`);
  for (const row of rows) {
    const claimed = byEvent.get(row.id) ?? [];
    byEvent.delete(row.id);
    const event = {
      id: row.id,
      type: row.type,
      occurred_at: row.createdAt,
      source: row.source,
      data: row.payload,
    } as DomainEvent;
    for (const o of await attemptSinks(deps, event, claimed)) {
      if (o.error === null) result.delivered++;
      else result.failed++;
    }
  }
  // Left: deliveries whose event row is gone (purged); nothing can ever deliver them.
  for (const [eventId, lost] of byEvent) {
    deps.logger.error("event sink delivery has no event row; giving up", { event_id: eventId });
    await recordOutcomes(
      deps.db,
      eventId,
      lost.map((c) => ({ ...c, error: "event row missing", final: true })),
    );
    result.failed += lost.length;
  }
}
