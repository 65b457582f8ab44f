import { and, desc, eq, exists, inArray, sql } from "drizzle-orm";
import { domainEventDeliveries, domainEvents } from "../db/schema";
import type { Deps } from "../platform/deps";
import { now } from "../platform/ids";
import type { Db } from "../platform/types";
import type { DeadDeliveriesFilter, SinkRedriveFilter } from "./schemas";

const d = domainEventDeliveries;
const iso = (ms: number) => new Date(ms).toISOString();

/** How many dead deliveries wait for an operator (the cron logs it; dead rows have their own index). */
export async function countDead(db: Db): Promise<number> {
  const row = await db.select({ n: sql<number>`count(*)` }).from(d).where(eq(d.status, "dead")).get();
  return row?.n ?? 0;
}

/** GET /events/admin/deliveries: unsettled counts per sink, and the dead deliveries. */
export async function listDeadDeliveries(deps: Pick<Deps, "db">, f: DeadDeliveriesFilter) {
  const { db } = deps;
  const counts = await db
    .select({ sink: d.sink, status: d.status, count: sql<number>`count(*)` })
    .from(d)
    .where(and(inArray(d.status, ["pending", "dead"]), f.sink ? eq(d.sink, f.sink) : undefined))
    .groupBy(d.sink, d.status)
    .orderBy(d.sink, d.status);
  const dead = await db
    .select()
    .from(d)
    .where(and(eq(d.status, "dead"), f.sink ? eq(d.sink, f.sink) : undefined))
    .orderBy(desc(d.updatedAt))
    .limit(f.limit);
  return {
    counts: counts.map((c) => ({ ...c, status: c.status as "pending" | "dead" })),
    dead: dead.map((r) => ({
      event_id: r.eventId,
      sink: r.sink,
      attempts: r.attempts,
      last_error: r.lastError,
      created_at: iso(r.createdAt),
      updated_at: iso(r.updatedAt),
    })),
  };
}

/**
 * POST /events/admin/redrive: dead deliveries back to `pending`, due now, with a fresh attempt
 * budget (attempts = 0), for the 5-minute cron to run. One conditional UPDATE guarded by
 * `status = 'dead'`, so a repeated or concurrent call finds nothing left to move, and each row
 * is re-driven by one call. Sinks are idempotent per event id, so a delivery that went dead
 * after partly succeeding (one live channel of many failed) completes without doubles. Rows
 * whose event was purged by the retention are left dead: nothing could deliver them.
 */
export async function redriveSinkDeliveries(deps: Pick<Deps, "db" | "logger">, f: SinkRedriveFilter) {
  const { db } = deps;
  const candidates = await db
    .select({ eventId: d.eventId, sink: d.sink })
    .from(d)
    .where(
      and(
        eq(d.status, "dead"),
        f.sink ? eq(d.sink, f.sink) : undefined,
        f.event_id ? eq(d.eventId, f.event_id) : undefined,
        exists(db.select({ one: domainEvents.id }).from(domainEvents).where(eq(domainEvents.id, d.eventId))),
      ),
    )
    .orderBy(d.updatedAt, d.eventId, d.sink)
    .limit(f.limit + 1);
  const more = candidates.length > f.limit;
  const pairs = JSON.stringify(candidates.slice(0, f.limit).map((c) => [c.eventId, c.sink]));
  const t = now();
  // One JSON parameter for any number of (event, sink) pairs: D1 binds at most 100 per statement.
  const moved =
    candidates.length === 0
      ? []
      : await db
          .update(d)
          .set({ status: "pending", attempts: 0, nextAttemptAt: t, updatedAt: t })
          .where(
            and(
              eq(d.status, "dead"),
              sql`(${d.eventId}, ${d.sink}) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(${pairs}))`,
            ),
          )
          .returning({ event_id: d.eventId, sink: d.sink });
  deps.logger.info("event sink re-drive", { redriven: moved.length, more, filter: f });
  return { redriven: moved.length, deliveries: moved, more };
}
