import { newId, nowSeconds } from "./ids";
import type { Store, StripeObject } from "./store";

/** The stripe SDK's pinned version (stripe@23: `Stripe.API_VERSION`), stamped on every event. */
export const API_VERSION = "2026-10-28.endive";

export type RequestInfo = { id: string | null; idempotencyKey: string | null };

export type StripeEvent = StripeObject & {
  type: string;
  created: number;
  data: { object: StripeObject; previous_attributes?: Record<string, unknown> };
};

/**
 * Records every state change as an Event plus one webhook delivery (signed when read or sent).
 * Payloads are serialised once, so a delivery's bytes never change between pulls and retries.
 */
export class Events {
  constructor(
    private readonly store: Store,
    private readonly request: RequestInfo,
    private readonly onDelivery: () => void,
  ) {}

  emit(type: string, object: StripeObject, previous?: Record<string, unknown>): StripeEvent {
    const event: StripeEvent = {
      id: newId("evt"),
      object: "event",
      api_version: API_VERSION,
      created: nowSeconds(),
      data: previous
        ? { object: structuredClone(object), previous_attributes: previous }
        : { object: structuredClone(object) },
      livemode: false,
      pending_webhooks: 1,
      request: { id: this.request.id, idempotency_key: this.request.idempotencyKey },
      type,
    };
    const payload = JSON.stringify(event, null, 2);
    this.store.sql.exec("INSERT INTO events (id, type, body) VALUES (?, ?, ?)", event.id, type, payload);
    this.store.sql.exec(
      "INSERT INTO deliveries (event_id, type, payload, timestamp, next_attempt_at) VALUES (?, ?, ?, ?, ?)",
      event.id,
      type,
      payload,
      nowSeconds(),
      Date.now(),
    );
    this.onDelivery();
    return event;
  }
}

/** Only the keys whose values differ: Stripe's `data.previous_attributes`. */
export function changed(before: StripeObject, after: StripeObject): Record<string, unknown> {
  const prev: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(before)) {
    if (JSON.stringify(v) !== JSON.stringify(after[k])) prev[k] = v;
  }
  return prev;
}
