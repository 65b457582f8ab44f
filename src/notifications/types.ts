import { z } from "zod";
import { DELIVERY_MODES, DELIVERY_STATUSES, NOTIFICATION_TYPES, type NotificationType } from "../db/schema";

export { DELIVERY_MODES, DELIVERY_STATUSES, NOTIFICATION_TYPES, type NotificationType };

/**
 * Critical types cannot be muted on any channel and bypass quiet hours: a user who
 * turned them off could miss a compromised account or a dispute deadline.
 */
export const CRITICAL_TYPES: ReadonlySet<NotificationType> = new Set<NotificationType>(["security_alert"]);
export const isCritical = (type: NotificationType): boolean => CRITICAL_TYPES.has(type);

/**
 * Tokens per push job the producer writes: one queue message fans out to at most this many
 * FCM requests. A consumer invocation gets up to max_batch_size (10) jobs, and everything it
 * does counts against one invocation's subrequest limit (1,000 on paid plans): 10 × 50 sends
 * plus three D1 calls per job and the OAuth exchange stays near half of it.
 */
export const TOKENS_PER_JOB = 50;
/** What the consumer accepts: jobs enqueued before TOKENS_PER_JOB was lowered carry 100. */
const MAX_IDS_PER_JOB = 100;

/**
 * Body of a message on the "push" queue (and, after exhausted retries, "push-dlq").
 * It names delivery rows, not tokens: the consumer re-reads them and only sends the
 * ones still `queued`, so a redelivered or retried job never sends twice to a device
 * that already has a terminal delivery.
 */
export const pushJobSchema = z.object({
  v: z.literal(1),
  delivery_ids: z.array(z.string().min(1).max(64)).min(1).max(MAX_IDS_PER_JOB),
});
export type PushJob = z.infer<typeof pushJobSchema>;
