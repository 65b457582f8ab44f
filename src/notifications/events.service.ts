import { publish } from "../events/publish";
import type { EXTERNAL_EVENT_TYPES } from "../events/types";
import type { Deps } from "../platform/deps";
import { ApiError, forbidden } from "../platform/errors";
import type { Principal } from "../platform/types";

export type ExternalEvent = {
  id: string;
  type: (typeof EXTERNAL_EVENT_TYPES)[number];
  data: Record<string, unknown>;
  occurred_at?: string | undefined;
};

/** publish()'s bound on a domain event id. */
const MAX_EVENT_ID = 128;

/**
 * Bounds on a service's `occurred_at`. It becomes the domain event's `created_at`, which the
 * retention judges by (platform/retention.ts), and the row is publish()'s de-duplication key:
 * an event dated years ago was expired by the next daily run, so a replay of its id ran every
 * sink again; one dated in the future was never expired. A week back covers any producer's
 * retry horizon, far inside DOMAIN_EVENT_RETENTION_DAYS; five minutes ahead absorbs clock skew.
 */
export const MAX_OCCURRED_AGE_MS = 7 * 86_400_000;
export const MAX_OCCURRED_SKEW_MS = 5 * 60_000;

function occurredAt(value: string | undefined, at: number): number | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (Number.isFinite(t) && t >= at - MAX_OCCURRED_AGE_MS && t <= at + MAX_OCCURRED_SKEW_MS) return t;
  throw new ApiError("VALIDATION_FAILED", "Request validation failed", {
    details: [
      {
        path: "occurred_at",
        message: "must lie within the last 7 days and at most 5 minutes in the future",
      },
    ],
  });
}

/**
 * The domain event id of a service's event: `ext:<service>:<id>`. Internal ids are predictable
 * (`payment.failed:<payment id>:<decline code>`), so a service choosing them freely could claim
 * one first and the real event would be dropped as a duplicate. The prefix keeps every service
 * in its own namespace; the service is URI-encoded (subjects may contain `:`, never `%`), so
 * two services can never produce the same id.
 */
function externalEventId(service: string, id: string): string {
  return `ext:${encodeURIComponent(service)}:${id}`;
}

/**
 * An event another platform service publishes; the caller is recorded as its source. Answers
 * the caller's own `id` (its idempotency key, scoped to that service) and the `event_id` the
 * platform stored (what notifications and feeds reference).
 */
export async function ingestEvent(
  deps: Deps,
  caller: Principal,
  input: ExternalEvent,
): Promise<{ id: string; event_id: string; duplicate: boolean }> {
  // Critical: it bypasses mute and quiet hours, so only the services named in config may send it.
  if (input.type === "security.alert" && !deps.config.securityAlertServices.has(caller.userId))
    throw forbidden("security.alert may only be published by a service listed in SECURITY_ALERT_SERVICES");
  const eventId = externalEventId(caller.userId, input.id);
  if (eventId.length > MAX_EVENT_ID) {
    throw new ApiError("VALIDATION_FAILED", "Request validation failed", {
      details: [
        {
          path: "id",
          message: `with the ext:<service>: prefix the event id must be at most ${MAX_EVENT_ID} characters`,
        },
      ],
    });
  }
  const occurred = occurredAt(input.occurred_at, Date.now());
  const { duplicate } = await publish(deps, {
    id: eventId,
    type: input.type,
    // publish() validates data against the type's schema (400 with paths on failure).
    data: input.data as never,
    source: `service:${caller.userId}`,
    ...(occurred === undefined ? {} : { occurred_at: occurred }),
  });
  return { id: input.id, event_id: eventId, duplicate };
}
