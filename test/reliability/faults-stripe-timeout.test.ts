import { describe, it } from "vitest";
import { confirmUnder, createIntentUnder, refundUnder } from "./stripe-ops";

/**
 * Stripe slower than the client's 10 s timeout, on the first attempt and on the SDK's retry.
 * The emulator still carries the request out after the delay, as Stripe would: the retry
 * must find that work (same Stripe idempotency key, or the intent's current state) rather
 * than do it twice. Concurrent, since each case waits out two timeouts.
 */
const TIMEOUT = { delay_ms: 10_500 };

describe.concurrent("Stripe timing out", () => {
  it("during create-intent", () => createIntentUnder(TIMEOUT), 60_000);
  it("during confirm", () => confirmUnder(TIMEOUT), 60_000);
  it("during refund", () => refundUnder(TIMEOUT), 60_000);
});
