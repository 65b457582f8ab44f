import type Stripe from "stripe";
import type { Deps } from "../../platform/deps";
import { onDispute } from "./disputes";
import { onInvoice } from "./invoices";
import { onPaymentIntent } from "./payment-intents";
import { onChargeRefunded, onRefund } from "./refunds";
import { onSubscription } from "./subscriptions";
import { type EventHandler, ignored, type Outcome } from "./types";

const EXACT: Record<string, EventHandler> = {
  "charge.refunded": onChargeRefunded,
  "refund.created": onRefund,
  "refund.updated": onRefund,
  "refund.failed": onRefund,
  "charge.refund.updated": onRefund,
  "invoice.paid": onInvoice,
  "invoice.payment_succeeded": onInvoice,
  "invoice.payment_failed": onInvoice,
};

const PREFIXES: [string, EventHandler][] = [
  ["payment_intent.", onPaymentIntent],
  ["charge.dispute.", onDispute],
  ["customer.subscription.", onSubscription],
];

export function handlerFor(type: string): EventHandler | undefined {
  return EXACT[type] ?? PREFIXES.find(([p]) => type.startsWith(p))?.[1];
}

export async function dispatch(deps: Deps, event: Stripe.Event): Promise<Outcome> {
  const handler = handlerFor(event.type);
  if (!handler) return ignored(`unhandled type ${event.type}`);
  return handler(deps, event);
}
