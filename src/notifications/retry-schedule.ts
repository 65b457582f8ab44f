/**
 * When a push job that FCM (or Google OAuth) refused is tried again (docs/notifications.md,
 * "Retry schedule"). The schedule must outlast an outage of at least an hour: the old one
 * (1, 2, 4, 8, 16 s, five retries) dead-lettered every push 31 s into one.
 */

/**
 * Deliveries of a push job before the runtime moves it to `push-dlq`; must equal
 * `max_retries` of the "push" consumer in wrangler.toml (a test compares them).
 * Cloudflare Queues allow at most 100.
 */
export const PUSH_MAX_RETRIES = 30;

/**
 * Longest backoff step. The cron's lost-job sweep (STALE_QUEUED_MS, 20 min) relies on a
 * live job touching its rows at least this often.
 */
export const BACKOFF_CAP_S = 600;

/** Cloudflare Queues refuse a retry delay over 12 hours. */
export const MAX_DELAY_S = 43_200;

/**
 * First step of the backoff after FCM's 429 QUOTA_EXCEEDED without Retry-After. FCM's error
 * code reference asks for exponential backoff with a minimum initial delay of one minute for
 * it (the per-project quota refills each minute): steps of 120, 240, … s, jittered over their
 * upper half, so the first wait is 60–120 s instead of the 1 s of any other transient error.
 */
export const QUOTA_FIRST_STEP_S = 120;

/** The exponential step for delivery attempt `attempt` (1-based): first, 2·first, … s, capped. */
const backoffCeiling = (attempt: number, firstStepS: number): number =>
  Math.min(BACKOFF_CAP_S, firstStepS * 2 ** Math.max(0, attempt - 1));

/**
 * The delay before the next attempt, after attempt `attempt` failed. Jittered, so thousands of
 * jobs failed by one outage do not all come back in the same second, but only over the upper
 * half of the step: a full [0, step] jitter can add up to almost nothing, and the schedule
 * must outlast an hour whatever the dice say. Never shorter than Google's Retry-After
 * (the largest across the job's pending tokens), never over the Queues limit.
 * `jitter` is in [0, 1); tests pass 0 and 0.999… to check both ends. `firstStepS` is the
 * first step (1 s, or QUOTA_FIRST_STEP_S after a quota refusal without Retry-After).
 */
export function retryDelaySeconds(
  attempt: number,
  retryAfter: number | null,
  jitter = Math.random(),
  firstStepS = 1,
): number {
  const step = backoffCeiling(attempt, firstStepS);
  const backoff = Math.ceil(step / 2 + (jitter * step) / 2);
  return Math.min(MAX_DELAY_S, Math.max(backoff, retryAfter ?? 0));
}
