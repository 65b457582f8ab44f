/** How the client retries a request the platform asked it to try again. */
export type RetryOptions = {
  /** Attempts in all, the first included (default 4; 1 turns retries off). */
  attempts?: number;
  /** First backoff step; doubled each retry, with full jitter (default 250 ms). */
  baseDelayMs?: number;
  /** No wait is longer than this, Retry-After included (default 30 s). */
  maxDelayMs?: number;
  /** How to wait (default setTimeout); a scheduler or a test can supply its own. */
  sleep?: (ms: number) => Promise<void>;
};

type Fetch = (request: Request) => Promise<Response>;

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * 429 and 503 are the platform's "try again" answers (rate limits, an upstream that is down),
 * and so is a 409 with Retry-After (the same Idempotency-Key's first request is still running).
 * Anything else is an answer.
 */
function retryable(res: Response): boolean {
  return res.status === 429 || res.status === 503 || (res.status === 409 && res.headers.has("retry-after"));
}

/** Retry-After as milliseconds (delta-seconds or an HTTP date), or null. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (header === null || header.trim() === "") return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * Wraps `fetch` so that retryable answers are retried with jittered exponential backoff, never
 * sooner than Retry-After and never longer than maxDelayMs. The request is cloned per attempt,
 * so every retry carries the same headers (its Idempotency-Key included) and the same body.
 */
export function withRetries(fetch: Fetch, options: RetryOptions = {}): Fetch {
  const attempts = Math.max(1, options.attempts ?? 4);
  const base = options.baseDelayMs ?? 250;
  const max = options.maxDelayMs ?? 30_000;
  const sleep = options.sleep ?? sleepFor;
  return async (request) => {
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(attempt < attempts ? request.clone() : request);
      if (attempt >= attempts || !retryable(res)) return res;
      const backoff = Math.random() * base * 2 ** (attempt - 1);
      const asked = retryAfterMs(res.headers.get("retry-after")) ?? 0;
      // The answer is dropped; read it so the connection can be reused.
      await res.body?.cancel();
      await sleep(Math.min(max, Math.max(asked, backoff)));
    }
  };
}
