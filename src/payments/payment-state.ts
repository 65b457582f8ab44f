import type { PaymentStatus } from "../db/schema/payments";

/**
 * Forward-only payment states. A transition to `to` is applied with
 * `UPDATE … WHERE status IN (allowedFrom(to))`, so a late or replayed event never rolls
 * a payment back. The pre-settlement states are one "open" tier that may move among
 * themselves (a decline, then a retry with another card); the values written there
 * come from Stripe's current object, never from an old event.
 */
const OPEN: PaymentStatus[] = [
  "requires_payment_method",
  "requires_confirmation",
  "requires_action",
  "processing",
  "failed",
];

const FROM: Record<PaymentStatus, PaymentStatus[]> = {
  requires_payment_method: OPEN,
  requires_confirmation: OPEN,
  requires_action: OPEN,
  processing: OPEN,
  failed: OPEN,
  succeeded: OPEN,
  canceled: OPEN,
  partially_refunded: ["succeeded", "partially_refunded"],
  refunded: ["succeeded", "partially_refunded", "refunded"],
  disputed: ["succeeded", "partially_refunded", "refunded"],
};

export const allowedFrom = (to: PaymentStatus): PaymentStatus[] => FROM[to];
export const isOpen = (s: PaymentStatus): boolean => OPEN.includes(s);
/** Money was taken (possibly since refunded or disputed). */
export const isSettled = (s: PaymentStatus): boolean =>
  s === "succeeded" || s === "partially_refunded" || s === "refunded" || s === "disputed";

/** Our status for a Stripe PaymentIntent; a decline leaves Stripe at requires_payment_method. */
export function statusOfIntent(pi: { status: string; last_payment_error?: unknown }): PaymentStatus {
  switch (pi.status) {
    case "succeeded":
      return "succeeded";
    case "canceled":
      return "canceled";
    case "processing":
      return "processing";
    case "requires_action":
      return "requires_action";
    case "requires_confirmation":
      return "requires_confirmation";
    case "requires_capture":
      return "processing";
    default:
      return pi.last_payment_error ? "failed" : "requires_payment_method";
  }
}
