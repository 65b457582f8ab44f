/** How the client retries a request the platform asked it to try again. */
export type RetryOptions = {
  /** Attempts in all, the first included (default 4; 1 turns retries off). */
  attempts?: number;
  /** First backoff step; doubled each retry, with full jitter (default 250 ms). */
  baseDelayMs?: number;
  /** No wait is longer than this (default 30 s); a longer Retry-After returns the answer instead. */
  maxDelayMs?: number;
  /** How to wait (default setTimeout); a scheduler or a test can supply its own. */
  sleep?: (ms: number) => Promise<void>;
};

type Fetch = (request: Request) => Promise<Response>;

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * 429 and 503 are the platform's "try again" answers (rate limits, an upstream that is down),
 * and so is a 409 with Retry-After (the same Idempotency-Key's first request is still running).
 * A 429 or that 409 means nothing ran, so any request may be sent again; a 503 may come after
 * part of the work was done, so only a request that is safe to resend is. Anything else is an
 * answer.
 */
function retryable(res: Response, request: Request): boolean {
  if (res.status === 429 || (res.status === 409 && res.headers.has("retry-after"))) return true;
  return res.status === 503 && resendable(request);
}

/** Retry-After as milliseconds (delta-seconds or an HTTP date), or null. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (header === null || header.trim() === "") return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** Waits `ms`, or rejects with the signal's reason as soon as the caller aborts. */
function abortable(sleep: (ms: number) => Promise<void>, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    sleep(ms).then(
      () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

/**
 * The POSTs whose operation honours Idempotency-Key (the document's `idempotency-key` header
 * parameter; test/client/sdk.test.ts holds this list to the document). Only these replay the
 * first result when sent again; other POSTs (a support ticket, an event) would be done twice.
 */
const IDEMPOTENT_POSTS = [
  /^\/api\/v1\/payments\/(create-intent|confirm|[^/]+\/refund)$/,
  /^\/api\/v1\/subscriptions(\/[^/]+\/(cancel|change|payment-method))?$/,
];

/** Whether a POST to this pathname replays its first answer for the same Idempotency-Key. */
export function honoursIdempotencyKey(pathname: string): boolean {
  return IDEMPOTENT_POSTS.some((re) => re.test(pathname));
}

/**
 * A request that may be sent again when no answer came back: a method that is idempotent by
 * definition, or a POST with an Idempotency-Key to an operation that honours it. Anything else
 * might be applied twice.
 */
function resendable(request: Request): boolean {
  if (
    request.method === "GET" ||
    request.method === "HEAD" ||
    request.method === "PUT" ||
    request.method === "DELETE"
  )
    return true;
  return (
    request.method === "POST" &&
    request.headers.has("idempotency-key") &&
    honoursIdempotencyKey(new URL(request.url).pathname)
  );
}

/**
 * Wraps `fetch` so that retryable answers are retried with jittered exponential backoff, never
 * sooner than Retry-After. A Retry-After longer than maxDelayMs is not cut short (retrying early
 * only earns another refusal and adds load): that answer is returned. A request whose answer was
 * lost (fetch rejected, the connection reset) is retried too when it is safe to resend. The
 * request is cloned per attempt, so every retry carries the same headers (its Idempotency-Key
 * included) and the same body; an abort ends the call at once, in a wait too.
 */
export function withRetries(fetch: Fetch, options: RetryOptions = {}): Fetch {
  const attempts = Math.max(1, options.attempts ?? 4);
  const base = options.baseDelayMs ?? 250;
  const max = options.maxDelayMs ?? 30_000;
  const sleep = options.sleep ?? sleepFor;
  return async (request) => {
    for (let attempt = 1; ; attempt++) {
      const backoff = Math.random() * base * 2 ** (attempt - 1);
      let res: Response;
      try {
        res = await fetch(attempt < attempts ? request.clone() : request);
      } catch (err) {
        if (attempt >= attempts || request.signal.aborted || !resendable(request)) throw err;
        await abortable(sleep, Math.min(max, backoff), request.signal);
        continue;
      }
      if (attempt >= attempts || !retryable(res, request)) return res;
      const asked = retryAfterMs(res.headers.get("retry-after")) ?? 0;
      if (asked > max) return res;
      // The answer is dropped; read it so the connection can be reused.
      await res.body?.cancel();
      await abortable(sleep, Math.min(max, Math.max(asked, backoff)), request.signal);
    }
  };
}
