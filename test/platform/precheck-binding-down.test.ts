import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import type { Limiter } from "../../src/platform/limits";
import { newCaller } from "../helpers/auth";
import { expectEnvelope } from "../helpers/http";

/**
 * The payment read routes' per-isolate pre-check (limit-precheck.ts) with a failing
 * PAYMENT_RATE_LIMITER, through the app. The pre-check is module state, shared by every read
 * route and every test in this file (one isolate), so the tests run in order and build on it.
 * From the hostile review of 083a97d: the first version let every new caller's first read
 * through a dead binding, and a malformed answer escaped waitUntil as an unhandled TypeError.
 */
const down: Limiter = { limit: () => Promise.reject(new Error("rate limiter unreachable")) };

/** Errors that escaped a request's waitUntil work. */
const escaped: unknown[] = [];

/** One GET; `beforeWait` runs after the response and before the request's waitUntil work is awaited. */
async function get(path: string, token: string, limiter: unknown, beforeWait = () => {}) {
  const ctx = createExecutionContext();
  const res = await createApp().request(
    `http://x${path}`,
    { headers: { authorization: token } },
    { ...env, PAYMENT_RATE_LIMITER: limiter },
    ctx,
  );
  const body = await res.text();
  beforeWait();
  await waitOnExecutionContext(ctx).catch((err: unknown) => void escaped.push(err));
  return new Response(body, { status: res.status, headers: res.headers });
}

const token = async () => (await newCaller("user")).headers.authorization;

describe("the read routes' pre-check in front of a failing rate-limit binding", () => {
  it("lets through only what was in flight before the isolate learned of the failure; then every caller is refused", async () => {
    // The bound: the first read is answered before the binding's take settles.
    const first = await get("/api/v1/payments/history", await token(), down);
    expect(first.status).toBe(200);
    // From here every take is awaited, for callers this isolate has never seen and on every read route.
    for (const path of ["/api/v1/payments/history", "/api/v1/subscriptions/plans", "/api/v1/subscriptions"]) {
      const res = await get(path, await token(), down);
      expect(res.headers.get("retry-after")).toBe("5");
      await expectEnvelope(res, 503, "UPSTREAM_UNAVAILABLE");
    }
  });

  it("recovers once an awaited take succeeds: a new caller's reads stop waiting for the binding again", async () => {
    // Awaited (the isolate still believes the binding failing) and answered: the flag clears.
    expect((await get("/api/v1/payments/history", await token(), env.PAYMENT_RATE_LIMITER)).status).toBe(200);
    // A binding whose answer is held until after the response: only an unawaited take can answer first.
    let release = () => {};
    const held: Limiter = {
      limit: () => new Promise((resolve) => (release = () => resolve({ success: true }))),
    };
    const res = await get("/api/v1/payments/history", await token(), held, () => release());
    expect(res.status).toBe(200);
  });

  for (const [name, outcome] of [
    ["null", null],
    ["{}", {}],
  ] as const) {
    it(`a binding answering ${name} is a failing binding: nothing escapes waitUntil, and the next reads are refused`, async () => {
      const malformed = { limit: () => Promise.resolve(outcome) };
      escaped.length = 0;
      const caller = await token();
      // Reset to "binding healthy" first, so this read is an unawaited one again.
      await get("/api/v1/payments/history", caller, env.PAYMENT_RATE_LIMITER);
      const statuses: number[] = [];
      for (const who of [await token(), caller, await token()])
        statuses.push((await get("/api/v1/payments/history", who, malformed)).status);
      expect({ statuses, escaped: escaped.map(String) }).toEqual({ statuses: [200, 503, 503], escaped: [] });
    });
  }
});
