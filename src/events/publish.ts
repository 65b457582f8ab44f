import { domainEvents } from "../db/schema";
import type { Deps } from "../platform/deps";
import { ApiError } from "../platform/errors";
import { validationError } from "../platform/validation";
import { type DomainEvent, type DomainEventType, type EventData, eventDataSchemas } from "./types";

export type PublishInput<T extends DomainEventType> = {
  id: string;
  type: T;
  data: EventData<T>;
  source: string;
  occurred_at?: number;
};

/**
 * Records the event once (primary key on id) and fans it out to every sink. A replay of
 * the same id returns `{ duplicate: true }` and has no second effect. Sinks run in order
 * and each is isolated: one failing sink is logged and does not stop the others.
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

  const inserted = await deps.db
    .insert(domainEvents)
    .values({
      id: event.id,
      type: event.type,
      payload: event.data,
      source: event.source,
      createdAt: event.occurred_at,
    })
    .onConflictDoNothing()
    .returning({ id: domainEvents.id });
  if (inserted.length === 0) return { duplicate: true };

  for (const sink of deps.sinks) {
    try {
      await sink.handle(event, deps);
    } catch (err) {
      deps.logger.error("event sink failed", { sink: sink.name, event_id: event.id, type: event.type, err });
    }
  }
  return { duplicate: false };
}
