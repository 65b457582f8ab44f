import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/platform/errors";
import { LimitPrecheck } from "../../src/platform/limit-precheck";
import type { Limiter } from "../../src/platform/limits";

/** A limiter whose answers the test releases by hand, recording every take it was asked for. */
function heldLimiter(answer: boolean) {
  const calls: string[] = [];
  const held: Array<() => void> = [];
  const limiter: Limiter = {
    limit: ({ key }) => {
      calls.push(key);
      return new Promise((resolve) => held.push(() => resolve({ success: answer })));
    },
  };
  const release = async () => {
    for (const r of held.splice(0)) r();
    // Let the continuations of the released takes run.
    await new Promise((r) => setTimeout(r, 0));
  };
  return { limiter, calls, release };
}

/** Takes that are not awaited: the tests settle them through their limiter. */
const defer = (_p: Promise<unknown>) => {};

/** Whether `p` has settled once pending microtasks and timers of this turn have run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await new Promise((r) => setTimeout(r, 0));
  return done;
}

describe("LimitPrecheck (a per-isolate pre-check in front of a rate-limit binding)", () => {
  it("lets a caller under the bound proceed while its take is in flight; the binding sees every take", async () => {
    const { limiter, calls, release } = heldLimiter(true);
    const pre = new LimitPrecheck({ under: 3, windowMs: 60_000 });
    for (let i = 0; i < 3; i++) expect(await settled(pre.take(limiter, "pay:a", defer))).toBe(true);
    expect(calls).toEqual(["pay:a", "pay:a", "pay:a"]);
    // The fourth reaches the bound: it waits for the binding's answer.
    const fourth = pre.take(limiter, "pay:a", defer);
    expect(await settled(fourth)).toBe(false);
    await release();
    await expect(fourth).resolves.toBeUndefined();
    expect(calls).toHaveLength(4);
  });

  it("after one refusal from the binding, waits for it and refuses for the rest of the window", async () => {
    const { limiter, calls, release } = heldLimiter(false);
    const pre = new LimitPrecheck({ under: 10, windowMs: 60_000 });
    const t = 1_000_000;
    await pre.take(limiter, "pay:b", defer, 60, t);
    await release();
    // Handlers attached before the answer is released (no unhandled rejection in between).
    const second = pre.take(limiter, "pay:b", defer, 60, t + 1).catch((e: unknown) => e);
    await release();
    const err = await second;
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe("RATE_LIMITED");
    expect(calls).toHaveLength(2);
    // Another caller is not affected by b's refusal.
    expect(await settled(pre.take(limiter, "pay:c", defer, 60, t + 2))).toBe(true);
    // The refusal holds for a full window from when it was learned, not until the next
    // wall-clock minute: the binding's window is not aligned with this one.
    const nextMinute = pre.take(limiter, "pay:b", defer, 60, t + 30_000);
    expect(await settled(nextMinute)).toBe(false);
    await release();
    await expect(nextMinute).rejects.toBeInstanceOf(ApiError);
    // A full window after the last refusal, the caller starts from nothing again.
    expect(await settled(pre.take(limiter, "pay:b", defer, 60, t + 30_000 + 60_001))).toBe(true);
  });

  it("does not forget a refusal at the wall-clock window boundary", async () => {
    const { limiter, release } = heldLimiter(false);
    const pre = new LimitPrecheck({ under: 10, windowMs: 60_000 });
    const t = 59_900; // 100 ms before the pre-check's window rolls over
    await pre.take(limiter, "pay:f", defer, 60, t);
    await release(); // the binding refused: this isolate now knows
    // 200 ms later, in the next window: the binding still refuses, so the take must wait for it.
    const next = pre.take(limiter, "pay:f", defer, 60, t + 200);
    expect(await settled(next)).toBe(false);
    await release();
    await expect(next).rejects.toBeInstanceOf(ApiError);
  });

  it("admits at most `under` unawaited takes of one caller from parallel requests", async () => {
    const { limiter, calls, release } = heldLimiter(false);
    const pre = new LimitPrecheck({ under: 5, windowMs: 60_000 });
    const takes = Promise.allSettled(Array.from({ length: 20 }, () => pre.take(limiter, "pay:d", defer)));
    await release();
    const results = await takes;
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(5);
    expect(results.filter((r) => r.status === "rejected")).toHaveLength(15);
    expect(calls).toHaveLength(20);
  });

  it("treats a failing binding as a refusal signal: the caller's next take waits for it and fails", async () => {
    const limiter: Limiter = { limit: () => Promise.reject(new Error("binding down")) };
    const pre = new LimitPrecheck({ under: 10, windowMs: 60_000 });
    const mine: Promise<unknown>[] = [];
    await pre.take(limiter, "pay:e", (p) => mine.push(p));
    await Promise.allSettled(mine);
    const err = await pre.take(limiter, "pay:e", defer).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: "UPSTREAM_UNAVAILABLE", headers: { "Retry-After": "5" } });
    expect((err as Error).cause).toMatchObject({ message: "binding down" });
  });
});
