import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../../src/platform/errors";
import { LimitPrecheck } from "../../src/platform/limit-precheck";
import { enforceLimit, LIMIT_TIMEOUT_MS, type Limiter } from "../../src/platform/limits";

/**
 * From the hostile review of 8198394 (the read pre-check fails closed once its binding is seen
 * failing): races the unit tests do not reach. Each test states what limit-precheck.ts, SECURITY.md and
 * docs/payments.md promise and drives LimitPrecheck into the case where it does not hold.
 */

/** A binding whose answers are released by hand, one take at a time. */
function manual() {
  const pending: Array<(v: { success: boolean }) => void> = [];
  const limiter: Limiter = { limit: () => new Promise((resolve) => pending.push(resolve)) };
  return { limiter, answer: (i: number, success: boolean) => pending[i]?.({ success }) };
}
const down: Limiter = { limit: () => Promise.reject(new Error("rate limiter unreachable")) };
const tick = () => new Promise((r) => setTimeout(r, 0));

/** Whether `p` settled within this turn (false: the take is awaited, waiting for the binding). */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await tick();
  return done;
}

describe("the pre-check's failing flag and refusals under races", () => {
  it("a success from a take sent before the failure was learned does not clear `failing`: the next new caller is still awaited", async () => {
    const pre = new LimitPrecheck({ under: 1, windowMs: 60_000 });
    const t = 6_000_000;
    const deferred: Promise<unknown>[] = [];
    const defer = (p: Promise<unknown>) => void deferred.push(p);
    const healthy = manual();
    // Caller a spends its one unawaited take; its second take is awaited and in flight while the binding is healthy.
    await pre.take({ limit: async () => ({ success: true }) }, "pay:a", defer, 60, t);
    const aSecond = pre.take(healthy.limiter, "pay:a", defer, 60, t + 1);
    // The binding goes down: b's unawaited take fails and the isolate learns it.
    await pre.take(down, "pay:b", defer, 60, t + 2);
    await Promise.all(deferred);
    await expect(pre.take(down, "pay:c", defer, 60, t + 3)).rejects.toMatchObject({
      code: "UPSTREAM_UNAVAILABLE",
    });
    // a's stale take (sent before the outage) now answers: it says nothing about the binding today.
    healthy.answer(0, true);
    await aSecond;
    // The binding is still down. A new caller's read must be awaited and refused, not served unawaited.
    const d = pre.take(down, "pay:d", defer, 60, t + 4).then(
      () => "served",
      (e: unknown) => (e instanceof ApiError ? e.code : String(e)),
    );
    expect(await d).toBe("UPSTREAM_UNAVAILABLE");
  });

  it("a refusal that returns just after the window boundary makes the caller's next read wait (a full window from when it was learned)", async () => {
    const pre = new LimitPrecheck({ under: 10, windowMs: 60_000 });
    const boundary = 60_000 * 200;
    const b = manual();
    const defer = (_p: Promise<unknown>) => {};
    // Last read of the old window: unawaited, its take in flight.
    await pre.take(b.limiter, "pay:x", defer, 60, boundary - 50);
    // The caller keeps reading across the boundary: the new window's first read, also unawaited.
    await pre.take(b.limiter, "pay:x", defer, 60, boundary + 10);
    // Now the binding's refusal of the old read comes back.
    b.answer(0, false);
    await tick();
    // SECURITY.md: "after a refusal that isolate waits again for a full minute".
    expect(await settled(pre.take(b.limiter, "pay:x", defer, 60, boundary + 20))).toBe(false);
  });
});

describe("a binding that hangs", () => {
  afterEach(() => vi.useRealTimers());

  it("enforceLimit against a binding that never answers is refused 503 UPSTREAM_UNAVAILABLE after LIMIT_TIMEOUT_MS, not held open", async () => {
    vi.useFakeTimers();
    const hang: Limiter = { limit: () => new Promise(() => {}) };
    const outcome = enforceLimit(hang, "pay:h").then(
      () => "proceeded",
      (e: unknown) => (e instanceof ApiError ? e.code : String(e)),
    );
    let early: unknown = "still pending";
    void outcome.then((o) => (early = o));
    // Not a moment before the timeout: a slow binding is still given its time.
    await vi.advanceTimersByTimeAsync(LIMIT_TIMEOUT_MS - 1);
    expect(early).toBe("still pending");
    await vi.advanceTimersByTimeAsync(1);
    vi.useRealTimers();
    const first = await Promise.race([outcome, new Promise((r) => setTimeout(() => r("still pending"), 50))]);
    expect(first).toBe("UPSTREAM_UNAVAILABLE");
  });

  it("an unawaited take on a hanging binding counts as a failure at the timeout: the next caller is awaited", async () => {
    vi.useFakeTimers();
    const pre = new LimitPrecheck({ under: 10, windowMs: 60_000 });
    const hang: Limiter = { limit: () => new Promise(() => {}) };
    const deferred: Promise<unknown>[] = [];
    await pre.take(hang, "pay:h1", (p) => void deferred.push(p));
    await vi.advanceTimersByTimeAsync(LIMIT_TIMEOUT_MS);
    await Promise.all(deferred);
    vi.useRealTimers();
    await expect(pre.take(down, "pay:h2", () => {})).rejects.toMatchObject({ code: "UPSTREAM_UNAVAILABLE" });
  });
});

describe("a binding that throws synchronously", () => {
  it("a binding whose limit() throws synchronously: the unawaited take settles quietly, then every caller is refused 503", async () => {
    const pre = new LimitPrecheck({ under: 10, windowMs: 60_000 });
    const throws: Limiter = {
      limit: () => {
        throw new Error("binding exploded");
      },
    };
    const deferred: Promise<unknown>[] = [];
    await expect(pre.take(throws, "pay:s1", (p) => void deferred.push(p))).resolves.toBeUndefined();
    await expect(Promise.all(deferred)).resolves.toBeDefined();
    for (const key of ["pay:s2", "pay:s1"])
      await expect(pre.take(throws, key, (p) => void deferred.push(p))).rejects.toMatchObject({
        code: "UPSTREAM_UNAVAILABLE",
        headers: { "Retry-After": "5" },
      });
  });
});
