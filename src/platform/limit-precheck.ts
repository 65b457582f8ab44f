import { ApiError } from "./errors";
import { askLimiter, enforceLimit, type Limiter } from "./limits";

/**
 * A per-isolate pre-check in front of a rate-limit binding (BENCHMARKS.md, "History vs the bare
 * route"). The binding still takes every request and has the last word; what the pre-check saves
 * is the wait for its answer while a caller is obviously under the limit:
 *
 * - a caller this isolate has seen fewer than `under` times in the current window, and never
 *   refused in it, proceeds while its take is in flight (handed to waitUntil);
 * - once the caller reaches `under`, this isolate awaits every take of that caller for the rest
 *   of the window, exactly as without the pre-check;
 * - once the binding refuses a take, this isolate awaits every take of that caller for a full
 *   `windowMs` from the moment it learned of the refusal, across the window boundary (the
 *   binding's own window is not aligned with this one, so a refused caller would otherwise get
 *   `under` unawaited takes again at the next minute while the binding still refuses).
 *
 * So the requests admitted that the binding would refuse are the ones in flight when its first
 * refusal comes back in this isolate: at most `under` per caller per isolate per window, and in
 * practice the caller's concurrency. Isolates do not share this state, so across k isolates the
 * bound is k × `under`. `under` must be well below the binding's limit, and only for routes
 * where that overshoot is harmless (reads).
 *
 * A binding that fails (throws, hangs past LIMIT_TIMEOUT_MS, or answers something that is not
 * `{ success }`: askLimiter) is failed closed as far as an unawaited take allows: the first
 * failure this isolate learns of makes it await every take, of every caller, until a take sent
 * after that failure succeeds (an older one in flight says nothing about the binding now). So
 * what a failing binding lets through is the reads in flight when its first failure comes back
 * in this isolate: at most `under` per caller, in practice one per concurrent caller, once per
 * isolate per outage.
 */
export type Precheck = { under: number; windowMs: number };

type Seen = { count: number; refused: boolean };

/** Keys remembered per window; past it, callers are simply awaited (memory stays bounded). */
const MAX_KEYS = 10_000;

export class LimitPrecheck {
  private window = -1;
  private seen = new Map<string, Seen>();
  /** Callers the binding refused, with when this isolate may stop awaiting them (survives windows). */
  private refusedUntil = new Map<string, number>();
  /** The binding failed and has not since answered a take sent after that failure: await every caller. */
  private failing = false;
  /** Failures learned so far: a success clears `failing` only if none was learned after its take left. */
  private failures = 0;
  /**
   * Unawaited takes per caller that the binding has not answered yet. They count toward the
   * caller's `under` in the next window too: a hanging binding is learned as failing only at
   * LIMIT_TIMEOUT_MS, and a reset at the boundary would otherwise serve `under` more reads of the
   * same caller with no answer at all.
   */
  private unanswered = new Map<string, number>();
  /** The latest time any take named: when an answer that comes back later was learned, at the soonest. */
  private clock = 0;

  constructor(private readonly opts: Precheck) {}

  /** The binding refused `key`: await it for a full window from now, in whichever window is current. */
  private refuse(key: string) {
    const s = this.seen.get(key);
    if (s) s.refused = true;
    if (this.refusedUntil.size < MAX_KEYS || this.refusedUntil.has(key))
      this.refusedUntil.set(key, this.clock + this.opts.windowMs);
  }

  private fail(key: string) {
    this.failing = true;
    this.failures += 1;
    this.refuse(key);
  }

  /**
   * Takes one from `limiter` for `key`. Resolves when the caller may proceed; throws
   * RATE_LIMITED (via enforceLimit) when an awaited take is refused, UPSTREAM_UNAVAILABLE when
   * the binding failed. `defer` keeps a take that is not awaited alive after the response
   * (ExecutionContext.waitUntil).
   */
  async take(
    limiter: Limiter,
    key: string,
    defer: (p: Promise<unknown>) => void,
    retryAfter?: number,
    now = Date.now(),
  ): Promise<void> {
    this.clock = Math.max(this.clock, now);
    const window = Math.floor(now / this.opts.windowMs);
    if (window !== this.window) {
      this.window = window;
      this.seen = new Map();
      for (const [k, until] of this.refusedUntil) if (until <= now) this.refusedUntil.delete(k);
    }
    const refusedUntil = this.refusedUntil.get(key);
    let seen = this.seen.get(key);
    if (!seen && this.seen.size < MAX_KEYS) {
      const count = this.unanswered.get(key) ?? 0;
      seen = { count, refused: refusedUntil !== undefined && refusedUntil > now };
      this.seen.set(key, seen);
    }
    const failuresBefore = this.failures;
    if (this.failing || !seen || seen.refused || seen.count >= this.opts.under) {
      return enforceLimit(limiter, key, retryAfter).then(
        () => {
          // A take that left before the last failure was learned says nothing about the binding now.
          if (this.failures === failuresBefore) this.failing = false;
        },
        (err: unknown) => {
          if (err instanceof ApiError && err.code === "UPSTREAM_UNAVAILABLE") this.fail(key);
          else this.refuse(key);
          throw err;
        },
      );
    }
    seen.count += 1;
    this.unanswered.set(key, (this.unanswered.get(key) ?? 0) + 1);
    defer(
      askLimiter(limiter, key)
        .then(
          (success) => {
            if (!success) this.refuse(key);
          },
          () => this.fail(key),
        )
        .finally(() => {
          const left = (this.unanswered.get(key) ?? 1) - 1;
          if (left > 0) this.unanswered.set(key, left);
          else this.unanswered.delete(key);
        }),
    );
  }
}
