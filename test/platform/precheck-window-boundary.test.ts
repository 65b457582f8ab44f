import { describe, expect, it } from "vitest";
import { LimitPrecheck } from "../../src/platform/limit-precheck";
import type { Limiter } from "../../src/platform/limits";

/**
 * limit-precheck.ts promises that a failing binding lets through at most `under` reads per caller
 * once per isolate per outage. A binding that hangs is learned as failing only at
 * LIMIT_TIMEOUT_MS (3 s); when those 3 s straddled the pre-check's window boundary, `seen` was
 * reset and the same caller got `under` more unawaited reads: 2 x `under` served with no answer
 * at all from the binding. Unanswered takes now count toward the next window.
 */
describe("a hanging binding across the pre-check's window boundary", () => {
  it("serves at most `under` reads per caller before any take has been answered", async () => {
    const under = 10;
    const pre = new LimitPrecheck({ under, windowMs: 60_000 });
    const hung: Array<(err: Error) => void> = [];
    const hanging: Limiter = { limit: () => new Promise((_, reject) => hung.push(reject)) };
    const deferred: Promise<unknown>[] = [];
    const defer = (p: Promise<unknown>) => void deferred.push(p);
    const boundary = 60_000 * 300;

    let served = 0;
    const race = async (p: Promise<void>) => {
      let done = false;
      p.then(() => (done = true)).catch(() => {});
      await new Promise((r) => setTimeout(r, 0));
      if (done) served++;
    };
    // 1.5 s before the boundary, then 1.5 s after it: all within one 3 s timeout of the first take.
    for (let i = 0; i < under; i++) await race(pre.take(hanging, "pay:x", defer, 60, boundary - 1_500 + i));
    for (let i = 0; i < under; i++) await race(pre.take(hanging, "pay:x", defer, 60, boundary + 1_000 + i));
    expect(hung).toHaveLength(2 * under); // the binding has answered none of them
    expect(served).toBeLessThanOrEqual(under);

    for (const reject of hung) reject(new Error("rate limiter did not answer"));
    await Promise.all(deferred);
  });

  it("starts the next window fresh once the takes were answered", async () => {
    const under = 3;
    const pre = new LimitPrecheck({ under, windowMs: 60_000 });
    let asked = 0;
    const healthy: Limiter = {
      limit: async () => {
        asked++;
        return { success: true };
      },
    };
    const deferred: Promise<unknown>[] = [];
    const defer = (p: Promise<unknown>) => void deferred.push(p);
    const boundary = 60_000 * 400;
    for (let i = 0; i < under; i++) await pre.take(healthy, "pay:y", defer, 60, boundary - 1_000 + i);
    expect(deferred).toHaveLength(under); // all unawaited: under the pre-check's count
    await Promise.all(deferred);
    for (let i = 0; i < under; i++) await pre.take(healthy, "pay:y", defer, 60, boundary + i);
    expect(deferred).toHaveLength(2 * under); // the new window's count did not inherit answered takes
    await Promise.all(deferred);
    expect(asked).toBe(2 * under);
  });
});
