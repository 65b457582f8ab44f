import { withDeadline } from "./deadline";
import { ApiError, UNAVAILABLE_RETRY_AFTER_S } from "./errors";
import type { Db } from "./types";

/** The Workers rate-limit binding's interface (wrangler.toml [[ratelimits]]). */
export type Limiter = { limit(opts: { key: string }): Promise<{ success: boolean }> };

/**
 * How long a take may wait for the binding's answer. The binding is local to the colo and
 * answers in well under a millisecond; one that hangs must not hold every rate-limited request
 * open with it, so past this it counts as failing (fail closed, 503).
 */
export const LIMIT_TIMEOUT_MS = 3_000;

/**
 * One call to the binding: its `success`, or a rejection when the binding failed: it threw
 * (synchronously too), answered something that is not `{ success: boolean }` (a broken binding,
 * not a refusal of this caller), or did not answer within LIMIT_TIMEOUT_MS.
 */
export async function askLimiter(limiter: Limiter, key: string): Promise<boolean> {
  const outcome: { success?: unknown } | null | undefined = await withDeadline(
    new Promise<Awaited<ReturnType<Limiter["limit"]>>>((r) => r(limiter.limit({ key }))),
    LIMIT_TIMEOUT_MS,
    "rate limiter did not answer",
  );
  if (typeof outcome?.success !== "boolean") throw new TypeError("malformed rate-limit outcome");
  return outcome.success;
}

/**
 * One take from a rate-limit binding; 429 RATE_LIMITED with Retry-After when exceeded. The
 * middleware (rate-limit.ts) uses it per caller; services use it for keys only the body names
 * (an analytics session).
 *
 * A binding that fails (askLimiter) fails closed: nothing behind the limit runs unlimited. The
 * caller did nothing wrong and a retry soon can succeed, so it is a 503 UPSTREAM_UNAVAILABLE with
 * a short Retry-After rather than a 500 (which clients and SDKs treat as "do not retry blindly").
 */
export async function enforceLimit(limiter: Limiter, key: string, retryAfter = 60): Promise<void> {
  let success: boolean;
  try {
    success = await askLimiter(limiter, key);
  } catch (err) {
    throw new ApiError("UPSTREAM_UNAVAILABLE", "Rate limiting is unavailable; retry shortly", {
      headers: { "Retry-After": String(UNAVAILABLE_RETRY_AFTER_S) },
      cause: err,
    });
  }
  if (!success) {
    throw new ApiError("RATE_LIMITED", "Too many requests; retry later", {
      headers: { "Retry-After": String(retryAfter) },
    });
  }
}

/**
 * Takes one unit of a fixed-window budget kept in D1 (`rate_counters`): true if taken, false
 * when `cap` units of the window holding `at` are already gone. The binding's counters are per
 * location and approximate; this one is exact and global, for budgets that protect a shared
 * resource. One conditional upsert: concurrent takers serialise on the row, so at most `cap` win.
 * Rows are keyed by the window's start (epoch ms); the retention job drops them after a day.
 */
export async function takeFromBudget(
  db: Db,
  name: string,
  cap: number,
  at: number,
  windowMs = 60_000,
): Promise<boolean> {
  const bucket = Math.floor(at / windowMs) * windowMs;
  const row = await db.$client
    .prepare(
      `INSERT INTO rate_counters (name, bucket, count) VALUES (?1, ?2, 1)
       ON CONFLICT (name, bucket) DO UPDATE SET count = rate_counters.count + 1
       WHERE rate_counters.count < ?3
       RETURNING count`,
    )
    .bind(name, bucket, cap)
    .first<{ count: number }>();
  return row !== null && row.count <= cap;
}

/**
 * Gives back a unit taken with takeFromBudget in the same window (a second budget refused the
 * action the first one allowed, so the first must not be charged for it).
 */
export async function returnToBudget(db: Db, name: string, at: number, windowMs = 60_000): Promise<void> {
  const bucket = Math.floor(at / windowMs) * windowMs;
  await db.$client
    .prepare("UPDATE rate_counters SET count = count - 1 WHERE name = ?1 AND bucket = ?2 AND count > 0")
    .bind(name, bucket)
    .run();
}
