import type { Deps } from "../platform/deps";
import {
  claimPending,
  loadPending,
  markDeadLettered,
  type Outcome,
  type PendingDelivery,
  type SendResult,
} from "./deliveries.service";
import { sendMessage, THIRD_PARTY_AUTH_ERROR } from "./fcm/client";
import { buildMessage, PayloadError, type ReservedKeyNotice } from "./fcm/message";
import { localise } from "./localise";
import { createOutcomeWriter } from "./outcome-writer";
import { MAX_DELAY_S, retryDelaySeconds } from "./retry-schedule";
import { pushJobSchema } from "./types";

/** FCM requests in flight per consumer invocation, across all messages of the batch. */
export const SEND_CONCURRENCY = 16;

/**
 * A row whose `not_before` is at most this far ahead counts as due: the job's own retry comes
 * back at about that time, and must not burn one of its attempts on a few milliseconds.
 */
const DUE_TOLERANCE_MS = 2_000;

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

type RetryOutcome = Extract<Outcome, { kind: "retry" }>;

/** Seconds until one retried send is due again, after this job's attempt failed it. */
const delayOf = (msg: Message<unknown>, o: RetryOutcome, jitter: number): number =>
  retryDelaySeconds(msg.attempts, o.retryAfterSeconds, jitter, o.firstStepS);

/** Never throws: whatever goes wrong with one device is that device's outcome. */
async function sendOne(
  deps: ConsumerDeps,
  d: PendingDelivery,
  onReservedKey: ReservedKeyNotice,
): Promise<Outcome> {
  try {
    return await sendMessage(deps.config, buildMessage(localise(d, deps.logger), onReservedKey));
  } catch (err) {
    if (err instanceof PayloadError) {
      deps.logger.error("push payload invalid; not retried", { delivery_id: d.id, err });
      return { kind: "failed", code: "INVALID_PAYLOAD" };
    }
    deps.logger.error("push send threw; retrying", { delivery_id: d.id, err });
    return { kind: "retry", code: "SEND_ERROR", retryAfterSeconds: null };
  }
}

/** A per-platform credential problem at FCM's end (APNs / Web Push): say so loudly, once per job. */
function reportConfigFailures(deps: ConsumerDeps, msg: Message<unknown>, results: SendResult[]): void {
  const platforms = new Set(
    results.flatMap(({ d, o }) =>
      o.kind === "failed" && o.code === THIRD_PARTY_AUTH_ERROR ? [d.platform] : [],
    ),
  );
  if (platforms.size === 0) return;
  deps.logger.error(
    "FCM could not authenticate to APNs / Web Push: check the credentials in the Firebase console, then re-drive",
    { message_id: msg.id, code: THIRD_PARTY_AUTH_ERROR, platforms: [...platforms] },
  );
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
  // One draw per job: every retried row's not_before and the job's own delay agree.
  const jitter = Math.random();
  const claimToken = crypto.randomUUID();
  let pending: PendingDelivery[];
  // Seconds until the latest not-yet-due row may go (0: none is early).
  let earlyWaitS = 0;
  try {
    const loaded = await loadPending(deps.db, job.data.delivery_ids);
    // A row an earlier run retried is due at `not_before` (Retry-After, backoff). Another job
    // naming it (a duplicate delivery of the queue message, a cron sweep) must not send it
    // sooner: it waits out the rest instead.
    const t = Date.now();
    const early = loaded.filter((d) => d.notBefore != null && d.notBefore > t + DUE_TOLERANCE_MS);
    for (const d of early) earlyWaitS = Math.max(earlyWaitS, Math.ceil(((d.notBefore ?? t) - t) / 1000));
    // Claimed (`sending`), not just loaded: a duplicate of this job running now, or a retry
    // after this run fails, sends nothing this run may already have sent.
    pending = await claimPending(
      deps.db,
      loaded.filter((d) => !early.includes(d)),
      claimToken,
    );
  } catch (err) {
    deps.logger.error("push job could not claim its deliveries; retrying", { message_id: msg.id, err });
    msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts, null, jitter) });
    return;
  }
  const write = createOutcomeWriter(deps.db, claimToken);
  // A reserved data key is a mapping bug upstream: say so once per job, not once per device.
  const reserved = new Map<string, string | null>();
  const unwritten: SendResult[] = [];
  const results = await Promise.all(
    pending.map(async (d) => {
      const o = await run(() => sendOne(deps, d, (k, to) => reserved.set(k, to)));
      const result: SendResult =
        o.kind === "retry" ? { d, o, retryAt: Date.now() + delayOf(msg, o, jitter) * 1000 } : { d, o };
      // Written right after its own request, not at the end of the job (see outcome-writer.ts).
      await write(result).catch(() => unwritten.push(result));
      return result;
    }),
  );
  if (reserved.size > 0) {
    deps.logger.warn("push data carried keys FCM reserves; renamed (null: dropped)", {
      message_id: msg.id,
      keys: Object.fromEntries(reserved),
    });
  }
  reportConfigFailures(deps, msg, results);
  // One more try for what D1 refused; what fails again stays `sending` (never re-sent by a
  // retry of this job) until the cron re-queues it: the documented at-least-once window.
  const lost: SendResult[] = [];
  const again = createOutcomeWriter(deps.db, claimToken);
  await Promise.all(unwritten.map((r) => again(r).catch(() => lost.push(r))));
  if (lost.length > 0) {
    deps.logger.error("push outcomes not recorded; rows stay sending until the cron re-queues them", {
      message_id: msg.id,
      delivery_ids: lost.map((r) => r.d.id),
    });
  }
  // Only retries whose row went back to `queued` can be picked up by the next attempt.
  const retries = results.flatMap((r) => (r.o.kind === "retry" && !lost.includes(r) ? [r.o] : []));
  if (retries.length === 0 && earlyWaitS === 0) {
    msg.ack();
    return;
  }
  // The body cannot change under retry(); the next attempt re-reads the rows and
  // sends only those still `queued`, i.e. exactly the ones that failed here.
  // The longest any pending row asks for (Retry-After, a quota backoff), so none is early.
  const delaySeconds = Math.min(
    MAX_DELAY_S,
    Math.max(earlyWaitS, ...retries.map((r) => delayOf(msg, r, jitter))),
  );
  deps.logger.warn("push retrying", {
    message_id: msg.id,
    attempts: msg.attempts,
    pending: retries.length,
    codes: [...new Set(retries.map((r) => r.code))],
    delay_seconds: delaySeconds,
  });
  msg.retry({ delaySeconds });
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
