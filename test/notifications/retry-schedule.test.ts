import { describe, expect, it } from "vitest";
import {
  BACKOFF_CAP_S,
  MAX_DELAY_S,
  PUSH_MAX_RETRIES,
  retryDelaySeconds,
} from "../../src/notifications/retry-schedule";
import { pushMaxRetries } from "./helpers";

// Issue 13 item 2: a 31-second outage used to dead-letter every push (1+2+4+8+16 s, 5 retries).
const JITTERS = [0, 0.25, 0.5, 0.999_999];

/** Seconds waited between the first attempt and the last one the runtime makes. */
const cumulative = (jitter: number) => {
  let total = 0;
  for (let attempt = 1; attempt <= PUSH_MAX_RETRIES; attempt++)
    total += retryDelaySeconds(attempt, null, jitter);
  return total;
};

describe("push retry schedule", () => {
  it("wrangler.toml's max_retries for the push queue is the one the schedule is built for (≤ 100)", () => {
    expect(pushMaxRetries()).toBe(PUSH_MAX_RETRIES);
    expect(PUSH_MAX_RETRIES).toBeLessThanOrEqual(100);
  });

  it.each(JITTERS)(
    "outlasts a one-hour outage whatever the jitter (%s), every step within the cap",
    (jitter) => {
      expect(cumulative(jitter)).toBeGreaterThanOrEqual(3600);
      for (let attempt = 1; attempt <= PUSH_MAX_RETRIES; attempt++) {
        const delay = retryDelaySeconds(attempt, null, jitter);
        expect(delay).toBeGreaterThanOrEqual(1);
        expect(delay).toBeLessThanOrEqual(BACKOFF_CAP_S);
        expect(Number.isInteger(delay)).toBe(true);
      }
    },
  );

  it("is jittered: jobs failed by the same outage do not all come back at once", () => {
    const delays = new Set(JITTERS.map((j) => retryDelaySeconds(12, null, j)));
    expect(delays.size).toBeGreaterThan(2);
    for (const d of delays) expect(d).toBeGreaterThanOrEqual(BACKOFF_CAP_S / 2);
  });

  it("honours Retry-After beyond the cap, up to the Queues limit of 12 hours", () => {
    expect(retryDelaySeconds(1, 900, 0)).toBe(900);
    expect(retryDelaySeconds(20, 30, 0)).toBe(BACKOFF_CAP_S / 2);
    expect(retryDelaySeconds(1, 100_000, 0)).toBe(MAX_DELAY_S);
  });
});
