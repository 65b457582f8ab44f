import type Stripe from "stripe";
import type { Deps } from "../../platform/deps";
import { onDispute } from "./disputes";
import { onInvoice } from "./invoices";
import { malformedFields, type WebhookObjectKind } from "./objects";
import { onPaymentIntent } from "./payment-intents";
import { onChargeRefunded, onRefund } from "./refunds";
import { onSubscription } from "./subscriptions";
import { type EventHandler, ignored, type Outcome } from "./types";

/** A handler and the shape of the object it reads (objects.ts). */
type Route = { kind: WebhookObjectKind; handle: EventHandler };

const EXACT: Record<string, Route> = {
  "charge.refunded": { kind: "charge", handle: onChargeRefunded },
  "refund.created": { kind: "refund", handle: onRefund },
  "refund.updated": { kind: "refund", handle: onRefund },
  "refund.failed": { kind: "refund", handle: onRefund },
  "charge.refund.updated": { kind: "refund", handle: onRefund },
  "invoice.paid": { kind: "invoice", handle: onInvoice },
  "invoice.payment_succeeded": { kind: "invoice", handle: onInvoice },
  "invoice.payment_failed": { kind: "invoice", handle: onInvoice },
};

const PREFIXES: [string, Route][] = [
  ["payment_intent.", { kind: "paymentIntent", handle: onPaymentIntent }],
  ["charge.dispute.", { kind: "dispute", handle: onDispute }],
  ["customer.subscription.", { kind: "subscription", handle: onSubscription }],
];

function routeFor(type: string): Route | undefined {
  return EXACT[type] ?? PREFIXES.find(([p]) => type.startsWith(p))?.[1];
}

/**
 * Validates the fields the handler reads before it runs any query, so a signed event with a
 * malformed object is `ignored` (and logged with its id), never a failed query answered 500.
 */
export async function dispatch(deps: Deps, event: Stripe.Event): Promise<Outcome> {
  const route = routeFor(event.type);
  if (!route) return ignored(`unhandled type ${event.type}`);
  const bad = malformedFields(route.kind, event.data.object);
  if (bad) {
    deps.logger.warn("webhook object malformed; ignored", {
      event_id: event.id,
      type: event.type,
      fields: bad,
    });
    return ignored(`malformed ${event.type} object: ${bad}`);
  }
  return route.handle(deps, event);
}
