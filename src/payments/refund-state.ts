/**
 * Stripe's refund state machine (Refund object, `status`): a refund that needs the customer
 * starts `requires_action`, then `pending`; it ends `succeeded`, `failed` or `canceled`
 * (cancel is only possible from `requires_action`). A `succeeded` refund can still fail later
 * (the card network bounces it), so `failed` is reachable from `succeeded`, never the reverse.
 * Writes are `UPDATE … WHERE status IN (refundAllowedFrom(to))`, so a late or replayed event
 * (a stale `refund.updated(succeeded)` after `refund.failed`) never moves a refund back.
 */
export const REFUND_STATUSES = ["requires_action", "pending", "succeeded", "failed", "canceled"] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

const FROM: Record<RefundStatus, RefundStatus[]> = {
  requires_action: ["requires_action"],
  pending: ["requires_action", "pending"],
  succeeded: ["requires_action", "pending", "succeeded"],
  failed: ["requires_action", "pending", "succeeded", "failed"],
  canceled: ["requires_action", "pending", "canceled"],
};

/** Our value for Stripe's status; anything unknown is treated as not yet settled. */
export function refundStatusOf(status: string | null | undefined): RefundStatus {
  return (REFUND_STATUSES as readonly string[]).includes(status ?? "") ? (status as RefundStatus) : "pending";
}

export const refundAllowedFrom = (to: RefundStatus): RefundStatus[] => FROM[to];

/** Refunds the reconciler re-reads: Stripe has not told us how they end yet. */
export const UNSETTLED_REFUND: RefundStatus[] = ["requires_action", "pending"];
