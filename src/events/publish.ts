import { domainEvents } from "../db/schema";
import type { Deps } from "../platform/deps";
import { ApiError } from "../platform/errors";
import { validationError } from "../platform/validation";
import { attemptSinks, insertPendingIfNew } from "./deliveries";
import { type DomainEvent, type DomainEventType, type EventData, eventDataSchemas } from "./types";

export type PublishInput<T extends DomainEventType> = {
  id: string;
  type: T;
  data: EventData<T>;
  source: string;
  occurred_at?: number;
};

/**
 * Records the event once (primary key on id) together with one pending delivery row per sink,
 * in one db.batch, then attempts every sink inline. A replay of the same id returns
 * `{ duplicate: true }` and has no second effect. Sinks are isolated: one failing does not stop
 * the others, and it stays pending for the cron (src/events/redeliver.ts) to retry with
 * backoff, so each sink sees each event at least once.
 */
export async function publish<T extends DomainEventType>(
  deps: Deps,
  input: PublishInput<T>,
): Promise<{ duplicate: boolean }> {
  const parsed = eventDataSchemas[input.type].safeParse(input.data);
  if (!parsed.success) throw validationError(parsed.error, `Invalid data for event ${input.type}`);
  if (input.id.length === 0 || input.id.length > 128)
    throw new ApiError("VALIDATION_FAILED", "event id is invalid");

  const event = {
    id: input.id,
    type: input.type,
    occurred_at: input.occurred_at ?? Date.now(),
    source: input.source,
    data: parsed.data,
  } as DomainEvent;

  const sinks = deps.sinks.map((s) => s.name);
  const [, inserted] = await deps.db.batch([
    insertPendingIfNew(deps.db, event.id, sinks, Date.now()),
    deps.db
      .insert(domainEvents)
      .values({
        id: event.id,
        type: event.type,
        payload: event.data,
        source: event.source,
        createdAt: event.occurred_at,
      })
      .onConflictDoNothing()
      .returning({ id: domainEvents.id }),
  ]);
  if (inserted.length === 0) return { duplicate: true };

  await attemptSinks(
    deps,
    event,
    sinks.map((sink) => ({ sink, attempts: 1 })),
  );
  return { duplicate: false };
}
