import { describe, expect, it } from "vitest";
import { newTimeOrderedId } from "../../src/platform/ids";

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("newTimeOrderedId", () => {
  it("is a version 7 UUID carrying the given epoch milliseconds", () => {
    const ms = Date.UTC(2026, 10, 26, 5, 0, 0, 123);
    const id = newTimeOrderedId(ms);
    expect(id).toMatch(V7);
    expect(Number.parseInt(id.replace("-", "").slice(0, 12), 16)).toBe(ms);
  });

  it("sorts by time as a string, and differs within the same millisecond", () => {
    const times = [0, 1, 255, 256, 65_535, Date.now(), 2 ** 48 - 1];
    const ids = times.map((t) => newTimeOrderedId(t));
    expect([...ids].sort()).toEqual(ids);
    const same = new Set(Array.from({ length: 1000 }, () => newTimeOrderedId(1_700_000_000_000)));
    expect(same.size).toBe(1000);
  });
});
