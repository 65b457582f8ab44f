import { ApiError } from "./errors";
import { enforceLimit, type Limiter } from "./limits";

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
 * A binding that fails (throws, or answers something that is not `{ success }`) is failed closed
 * as far as an unawaited take allows: the first failure this isolate learns of makes it await
 * every take, of every caller, until an awaited take succeeds again. So what a failing binding
 * lets through is the reads in flight when its first failure comes back in this isolate: at
 * most `under` per caller, in practice one per concurrent caller, once per isolate.
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
  /** The binding failed and has not answered an awaited take since: await every caller. */
  private failing = false;

  constructor(private readonly opts: Precheck) {}

  /**
   * Takes one from `limiter` for `key`. Resolves when the caller may proceed; throws
   * RATE_LIMITED (via enforceLimit) when an awaited take is refused. `defer` keeps a take that
   * is not awaited alive after the response (ExecutionContext.waitUntil).
   */
  async take(
    limiter: Limiter,
    key: string,
    defer: (p: Promise<unknown>) => void,
    retryAfter?: number,
    now = Date.now(),
  ): Promise<void> {
    const window = Math.floor(now / this.opts.windowMs);
    if (window !== this.window) {
      this.window = window;
      this.seen = new Map();
      for (const [k, until] of this.refusedUntil) if (until <= now) this.refusedUntil.delete(k);
    }
    const refusedUntil = this.refusedUntil.get(key);
    let s = this.seen.get(key);
    if (!s && this.seen.size < MAX_KEYS) {
      s = { count: 0, refused: refusedUntil !== undefined && refusedUntil > now };
      this.seen.set(key, s);
    }
    const seen = s;
    const refused = () => {
      if (seen) seen.refused = true;
      if (this.refusedUntil.size < MAX_KEYS || this.refusedUntil.has(key))
        this.refusedUntil.set(key, now + this.opts.windowMs);
    };
    if (this.failing || !seen || seen.refused || seen.count >= this.opts.under) {
      return enforceLimit(limiter, key, retryAfter).then(
        () => {
          this.failing = false;
        },
        (err: unknown) => {
          if (err instanceof ApiError && err.code === "UPSTREAM_UNAVAILABLE") this.failing = true;
          refused();
          throw err;
        },
      );
    }
    seen.count += 1;
    const failed = () => {
      this.failing = true;
      refused();
    };
    // Through a promise so a binding that throws synchronously is a rejection here too.
    defer(
      new Promise<{ success?: unknown } | null | undefined>((r) => r(limiter.limit({ key }))).then(
        (outcome) => {
          // A malformed answer is a failing binding, as enforceLimit reads it; never an unhandled rejection.
          if (typeof outcome?.success !== "boolean") failed();
          else if (!outcome.success) refused();
        },
        failed,
      ),
    );
  }
}
