// The isolate's refusal cache in front of the IngestBudget object (src/analytics/budget.ts): it
// may refuse without the object only while it is sure the object would, so it forgets at the
// object's next day, stays out of the minute around midnight, and forgets everything when full.
import { describe, expect, it } from "vitest";
import { BudgetExceeded, type BudgetRefusal, type BudgetTake, takeBudgets } from "../../src/analytics/budget";
import { DAY_MS } from "../../src/analytics/store";

/** An INGEST_BUDGET that refuses the keys in `full` (as already at their cap) and counts its calls. */
function fakeBudget(full: Set<string>, dayOf: (now: number) => number) {
  const seen = { calls: 0, now: 0 };
  const env = {
    INGEST_BUDGET: {
      getByName: () => ({
        take: async (takes: BudgetTake[]): Promise<BudgetRefusal | null> => {
          seen.calls++;
          const t = takes.find((x) => full.has(x.key));
          return t ? { key: t.key, cap: t.cap, used: t.cap, day: dayOf(seen.now) } : null;
        },
      }),
    },
  } as unknown as Pick<Env, "INGEST_BUDGET">;
  return { env, seen };
}

const outcome = (p: Promise<void>) =>
  p.then(
    () => "accepted",
    (e: unknown) => (e instanceof BudgetExceeded ? "refused" : `error: ${String(e)}`),
  );

const day = 20_000; // a UTC day number; noon is well away from either midnight
const noon = (d: number) => d * DAY_MS + DAY_MS / 2;
const take = (key: string): BudgetTake[] => [{ key, bytes: 10, cap: 100 }];

describe("the ingest budget's refusal cache", () => {
  it("refuses a known refusal without the object on the same day, and asks again on the next", async () => {
    const key = `ip:${crypto.randomUUID()}`;
    const full = new Set([key]);
    const { env, seen } = fakeBudget(full, (now) => Math.floor(now / DAY_MS));
    seen.now = noon(day);
    expect(await outcome(takeBudgets(env, take(key), noon(day)))).toBe("refused");
    expect(await outcome(takeBudgets(env, take(key), noon(day) + 1_000))).toBe("refused");
    expect(seen.calls).toBe(1);
    // The next day the object has a fresh budget for the key: the isolate must ask, not refuse.
    full.clear();
    seen.now = noon(day + 1);
    expect(await outcome(takeBudgets(env, take(key), noon(day + 1)))).toBe("accepted");
    expect(seen.calls).toBe(2);
  });

  it("asks the object within a minute of midnight, on either side, though the refusal is known", async () => {
    const key = `ip:${crypto.randomUUID()}`;
    const full = new Set([key]);
    // The object's clock is a little ahead: near midnight it may already count the next day.
    const { env, seen } = fakeBudget(full, (now) => Math.floor((now + 45_000) / DAY_MS));
    const lateEvening = (day + 1) * DAY_MS - 120_000;
    seen.now = lateEvening;
    expect(await outcome(takeBudgets(env, take(key), lateEvening))).toBe("refused");
    expect(seen.calls).toBe(1);
    const beforeMidnight = (day + 1) * DAY_MS - 30_000;
    full.clear();
    seen.now = beforeMidnight;
    expect(await outcome(takeBudgets(env, take(key), beforeMidnight))).toBe("accepted");
    expect(seen.calls).toBe(2);
  });

  it("forgets every refusal once it holds 10,000, so a full cache refuses nothing on its own", async () => {
    const first = `s:${crypto.randomUUID()}`;
    const full = new Set([first]);
    const { env, seen } = fakeBudget(full, () => day);
    seen.now = noon(day);
    expect(await outcome(takeBudgets(env, take(first), noon(day)))).toBe("refused");
    for (let i = 0; i < 10_000; i++) {
      const k = `s:flood-${i}`;
      full.add(k);
      await takeBudgets(env, take(k), noon(day)).catch(() => {});
    }
    const before = seen.calls;
    // `first` was dropped with the rest when the cache filled: the object is asked again.
    expect(await outcome(takeBudgets(env, take(first), noon(day)))).toBe("refused");
    expect(seen.calls).toBe(before + 1);
    // …while one remembered after the reset is still refused locally.
    expect(await outcome(takeBudgets(env, take("s:flood-9999"), noon(day)))).toBe("refused");
    expect(seen.calls).toBe(before + 1);
  });
});
