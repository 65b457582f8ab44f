import type { EventSink } from "../events/types";
import { AeWriter } from "./engine";
import { insertEvents, toAePoint } from "./store";

/**
 * Server truths become analytics events here, never from clients: a succeeded payment
 * is recorded as `payment_completed` for the paying user. The row id derives from the
 * domain event id, so a replayed event or a retried delivery cannot be counted twice.
 */
export const analyticsSink: EventSink = {
  name: "analytics",
  handle: async (event, deps) => {
    if (event.type !== "payment.succeeded") return;
    const d = event.data;
    const row = {
      id: `evt:${event.id}`,
      eventType: "payment_completed" as const,
      userId: d.user_id,
      // Not a browser session: one synthetic session per payment keeps session stats clean.
      sessionId: `server:${d.payment_id}`,
      page: null,
      element: null,
      source: event.source,
      properties: {
        payment_id: d.payment_id,
        amount: d.amount,
        currency: d.currency,
        merchant_id: d.merchant_id,
      },
      occurredAt: event.occurred_at,
      receivedAt: Date.now(),
    };
    // A retried delivery finds the row stored (or its user erased) and adds nothing, not even an AE point.
    if ((await insertEvents(deps.analyticsDb, [row])).length === 0) return;
    new AeWriter(deps.env.ANALYTICS).writeAll([toAePoint(row)]);
  },
};
