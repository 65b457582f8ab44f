import type { Deps } from "../platform/deps";
import {
  claimPending,
  loadPending,
  markDeadLettered,
  type Outcome,
  type PendingDelivery,
  recordOutcomes,
} from "./deliveries.service";
import { sendMessage } from "./fcm/client";
import { buildMessage, PayloadError, type ReservedKeyNotice } from "./fcm/message";
import { pushJobSchema } from "./types";

/** FCM requests in flight per consumer invocation, across all messages of the batch. */
export const SEND_CONCURRENCY = 16;
const BACKOFF_BASE_S = 2;
const BACKOFF_MAX_S = 600;

type ConsumerDeps = Pick<Deps, "config" | "db" | "logger">;

/** A counting semaphore: at most `limit` tasks run at once. */
export function createLimiter(limit: number) {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async function run<T>(task: () => Promise<T>): Promise<T> {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/** Exponential backoff by delivery attempt, never shorter than what Google asked for. */
export function retryDelaySeconds(attempts: number, retryAfter: number | null): number {
  const backoff = Math.min(BACKOFF_MAX_S, BACKOFF_BASE_S ** Math.max(0, attempts - 1));
  return Math.min(43_200, Math.max(backoff, retryAfter ?? 0));
}

async function sendOne(
  deps: ConsumerDeps,
  d: PendingDelivery,
  onReservedKey: ReservedKeyNotice,
): Promise<Outcome> {
  try {
    return await sendMessage(deps.config, buildMessage(d, onReservedKey));
  } catch (err) {
    if (err instanceof PayloadError) {
      deps.logger.error("push payload invalid; not retried", { delivery_id: d.id, err });
      return { kind: "failed", code: "INVALID_PAYLOAD" };
    }
    throw err;
  }
}

async function processMessage(
  deps: ConsumerDeps,
  msg: Message<unknown>,
  run: ReturnType<typeof createLimiter>,
): Promise<void> {
  const job = pushJobSchema.safeParse(msg.body);
  if (!job.success) {
    // Retrying a malformed job can only fail again: ack it and leave a trace.
    deps.logger.error("push job malformed; acked", { message_id: msg.id, issues: job.error.issues });
    msg.ack();
    return;
  }
  try {
    // Claimed, not just loaded: a duplicate delivery of this job running now sends nothing twice.
    const pending = await claimPending(deps.db, await loadPending(deps.db, job.data.delivery_ids));
    // A reserved data key is a mapping bug upstream: say so once per job, not once per device.
    const reserved = new Map<string, string | null>();
    const results = await Promise.all(
      pending.map((d) => run(async () => ({ d, o: await sendOne(deps, d, (k, to) => reserved.set(k, to)) }))),
    );
    if (reserved.size > 0) {
      deps.logger.warn("push data carried keys FCM reserves; renamed (null: dropped)", {
        message_id: msg.id,
        keys: Object.fromEntries(reserved),
      });
    }
    const retries = results.flatMap(({ o }) => (o.kind === "retry" ? [o] : []));
    // The body cannot change under retry(); the next attempt re-reads the rows and
    // sends only those still `queued`, i.e. exactly the ones that failed here.
    const retryAfter = Math.max(0, ...retries.map((r) => r.retryAfterSeconds ?? 0));
    const delaySeconds = retryDelaySeconds(msg.attempts, retryAfter || null);
    await recordOutcomes(deps.db, results, retries.length > 0 ? Date.now() + delaySeconds * 1000 : null);
    if (retries.length === 0) {
      msg.ack();
      return;
    }
    deps.logger.warn("push retrying", {
      message_id: msg.id,
      attempts: msg.attempts,
      pending: retries.length,
      codes: [...new Set(retries.map((r) => r.code))],
      delay_seconds: delaySeconds,
    });
    msg.retry({ delaySeconds });
  } catch (err) {
    deps.logger.error("push job failed; retrying", { message_id: msg.id, err });
    msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts, null) });
  }
}

/** Consumer of the "push" queue: one FCM v1 request per pending delivery, bounded concurrency. */
export async function handlePushBatch(batch: MessageBatch<unknown>, deps: ConsumerDeps): Promise<void> {
  const run = createLimiter(SEND_CONCURRENCY);
  await Promise.all(batch.messages.map((msg) => processMessage(deps, msg, run)));
}

/** Consumer of "push-dlq": jobs whose retries ran out. Their unsent deliveries say so. */
export async function handlePushDlqBatch(batch: MessageBatch<unknown>, deps: ConsumerDeps): Promise<void> {
  const { db, logger } = deps;
  for (const msg of batch.messages) {
    const job = pushJobSchema.safeParse(msg.body);
    if (!job.success) {
      logger.error("dead-lettered push job malformed; acked", { message_id: msg.id });
      msg.ack();
      continue;
    }
    try {
      const count = await markDeadLettered(db, job.data.delivery_ids);
      logger.warn("push job dead-lettered", { message_id: msg.id, deliveries: count });
      msg.ack();
    } catch (err) {
      logger.error("dead-letter bookkeeping failed; retrying", { message_id: msg.id, err });
      msg.retry();
    }
  }
}
