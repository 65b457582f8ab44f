import { enforceLimit, type Limiter } from "./limits";

/**
 * A per-isolate pre-check in front of a rate-limit binding (BENCHMARKS.md, "History vs the bare
 * route"). The binding still takes every request and has the last word; what the pre-check saves
 * is the wait for its answer while a caller is obviously under the limit:
 *
 * - a caller this isolate has seen fewer than `under` times in the current window, and never
 *   refused in it, proceeds while its take is in flight (handed to waitUntil);
 * - once the binding refuses a take, or the caller reaches `under`, this isolate awaits every
 *   take of that caller for the rest of the window, exactly as without the pre-check.
 *
 * So the only requests admitted that the binding would refuse are the ones already in flight
 * when its first refusal comes back: at most `under` per caller per isolate per window, and in
 * practice the caller's concurrency. `under` must be well below the binding's limit.
 */
export type Precheck = { under: number; windowMs: number };

type Seen = { count: number; refused: boolean };

/** Keys remembered per window; past it, callers are simply awaited (memory stays bounded). */
const MAX_KEYS = 10_000;

export class LimitPrecheck {
  private window = -1;
  private seen = new Map<string, Seen>();

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
    }
    let s = this.seen.get(key);
    if (!s && this.seen.size < MAX_KEYS) {
      s = { count: 0, refused: false };
      this.seen.set(key, s);
    }
    if (!s || s.refused || s.count >= this.opts.under) {
      return enforceLimit(limiter, key, retryAfter).catch((err: unknown) => {
        if (s) s.refused = true;
        throw err;
      });
    }
    s.count += 1;
    const seen = s;
    defer(
      limiter.limit({ key }).then(
        ({ success }) => {
          if (!success) seen.refused = true;
        },
        // A failing binding: fall back to awaiting it for this caller, so its errors surface.
        () => {
          seen.refused = true;
        },
      ),
    );
  }
}
