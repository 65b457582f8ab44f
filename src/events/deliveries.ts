import { and, eq, inArray, type SQL, sql } from "drizzle-orm";
import { domainEventDeliveries } from "../db/schema";
import type { Deps } from "../platform/deps";
import { now } from "../platform/ids";
import type { Db } from "../platform/types";
import type { DomainEvent } from "./types";

/**
 * Per-sink delivery records (docs/notifications.md, "Delivery guarantees"): each domain event
 * reaches each sink at least once, and sinks make their effects idempotent per event id.
 */

/** How long one attempt may take before the cron counts it as lost and tries again. */
export const SINK_LEASE_MS = 5 * 60_000;
/** Attempts before a delivery is `dead` (about 13 hours of retrying with the backoff below). */
export const MAX_SINK_ATTEMPTS = 20;
const BACKOFF_BASE_MS = 30_000;
const BACKOFF_MAX_MS = 60 * 60_000;

/** Wait after failed attempt number `attempts`: 30 s doubling, capped at an hour. */
export const sinkRetryDelayMs = (attempts: number): number =>
  Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));

/** A delivery this invocation holds: `attempts` counts the attempt now running. */
export type Claim = { sink: string; attempts: number };

/**
 * One `pending` row per sink, with the inline attempt already counted and leased. Goes in the
 * same db.batch as the domain_events insert, BEFORE it: the NOT EXISTS sees the batch's own
 * transaction, so a replay (the event row already there) adds nothing, and an event can never
 * be committed without its delivery rows.
 */
export function insertPendingIfNew(db: Db, eventId: string, sinks: readonly string[], t: number) {
  // Columns in table order: event_id, sink, status, attempts, next_attempt_at, last_error, created_at, updated_at.
  return db
    .insert(domainEventDeliveries)
    .select(
      sql`SELECT ${eventId}, value, 'pending', 1, ${t + SINK_LEASE_MS}, NULL, ${t}, ${t}
        FROM json_each(${JSON.stringify(sinks)})
        WHERE NOT EXISTS (SELECT 1 FROM domain_events WHERE id = ${eventId})`,
    )
    .onConflictDoNothing();
}

const errorText = (err: unknown): string =>
  (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 500);

const rowOf = (eventId: string, sink: string): SQL | undefined =>
  and(eq(domainEventDeliveries.eventId, eventId), eq(domainEventDeliveries.sink, sink));

/**
 * Runs the claimed sinks for one event, each isolated from the others, then records every
 * outcome in one db.batch. A failed sink stays `pending` with a backoff (or becomes `dead`
 * after MAX_SINK_ATTEMPTS). If even that write fails, the lease runs out and the cron retries:
 * the sinks' effects are idempotent, so a second run is harmless.
 */
export async function attemptSinks(deps: Deps, event: DomainEvent, claims: Claim[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const claim of claims) {
    const sink = deps.sinks.find((s) => s.name === claim.sink);
    try {
      if (!sink) throw new Error(`no sink named ${claim.sink}`);
      await sink.handle(event, deps);
      outcomes.push({ ...claim, error: null });
    } catch (err) {
      const dead = claim.attempts >= MAX_SINK_ATTEMPTS;
      deps.logger[dead ? "error" : "warn"](
        dead ? "event sink failed; giving up" : "event sink failed; will retry",
        {
          sink: claim.sink,
          event_id: event.id,
          type: event.type,
          attempts: claim.attempts,
          err,
        },
      );
      outcomes.push({ ...claim, error: errorText(err) });
    }
  }
  try {
    await recordOutcomes(deps.db, event.id, outcomes);
  } catch (err) {
    deps.logger.error("recording sink outcomes failed; the lease expiry retries them", {
      event_id: event.id,
      err,
    });
  }
  return outcomes;
}

/** `final`: no later attempt can succeed, so a failure is `dead` at once. */
export type Outcome = Claim & { error: string | null; final?: boolean };

/**
 * Forward-only writes: each is guarded by `status = 'pending'`, and a failure also by the
 * attempt it reports, so a slow attempt whose lease ran out cannot undo a later success.
 */
export async function recordOutcomes(db: Db, eventId: string, outcomes: Outcome[]): Promise<void> {
  const t = now();
  const pending = eq(domainEventDeliveries.status, "pending");
  const ok = outcomes.filter((o) => o.error === null).map((o) => o.sink);
  const statements = outcomes.flatMap((o) =>
    o.error === null
      ? []
      : [
          db
            .update(domainEventDeliveries)
            .set({
              status: o.final || o.attempts >= MAX_SINK_ATTEMPTS ? "dead" : "pending",
              nextAttemptAt: t + sinkRetryDelayMs(o.attempts),
              lastError: o.error,
              updatedAt: t,
            })
            .where(and(rowOf(eventId, o.sink), pending, eq(domainEventDeliveries.attempts, o.attempts))),
        ],
  );
  const delivered =
    ok.length > 0
      ? [
          db
            .update(domainEventDeliveries)
            .set({ status: "delivered", nextAttemptAt: null, lastError: null, updatedAt: t })
            .where(
              and(
                eq(domainEventDeliveries.eventId, eventId),
                inArray(domainEventDeliveries.sink, ok),
                pending,
              ),
            ),
        ]
      : [];
  const [first, ...rest] = [...delivered, ...statements];
  if (first) await db.batch([first, ...rest]);
}

/**
 * Claims due `pending` deliveries for this invocation: each UPDATE counts the attempt and
 * extends the lease only where `attempts` still has the value just read, so of two
 * concurrent runs exactly one wins each row, and only the winner runs the sink.
 */
export async function claimDue(
  db: Db,
  at: number,
  limit: number,
): Promise<Array<Claim & { eventId: string }>> {
  const due = await db
    .select({
      eventId: domainEventDeliveries.eventId,
      sink: domainEventDeliveries.sink,
      attempts: domainEventDeliveries.attempts,
    })
    .from(domainEventDeliveries)
    .where(
      and(eq(domainEventDeliveries.status, "pending"), sql`${domainEventDeliveries.nextAttemptAt} <= ${at}`),
    )
    .orderBy(domainEventDeliveries.nextAttemptAt)
    .limit(limit);
  const t = now();
  const statements = due.map((d) =>
    db
      .update(domainEventDeliveries)
      .set({ attempts: d.attempts + 1, nextAttemptAt: t + SINK_LEASE_MS, updatedAt: t })
      .where(
        and(
          rowOf(d.eventId, d.sink),
          eq(domainEventDeliveries.status, "pending"),
          eq(domainEventDeliveries.attempts, d.attempts),
        ),
      )
      .returning({
        eventId: domainEventDeliveries.eventId,
        sink: domainEventDeliveries.sink,
        attempts: domainEventDeliveries.attempts,
      }),
  );
  const [first, ...rest] = statements;
  if (!first) return [];
  return (await db.batch([first, ...rest])).flat();
}
