import { exports } from "cloudflare:workers";
import { createPlatformClient, ok, PlatformError, type RetryOptions } from "@edge-platform/client";
import { describe, expect, it } from "vitest";
import { honoursIdempotencyKey } from "../../packages/client/src/retry";
import { openApiDoc } from "../helpers/openapi";
import { emulatorRequests, injectFault } from "../helpers/stripe";
import { newCaller } from "../payments/helpers";
import { clearFault, marker, paymentsOf } from "../reliability/helpers";

/**
 * The SDK (packages/client) against the real worker entry: `exports.default.fetch` is the
 * vitest plugin's SELF.fetch under its current name. Stripe is the emulator, as everywhere.
 */
const BASE = "http://platform.test";
const platform = (request: Request) => exports.default.fetch(request);

/** Every request the client sent, with its headers as they left it. */
function recording(next: (request: Request) => Promise<Response> = platform) {
  const sent: Request[] = [];
  const requestIds: (string | null)[] = [];
  const fetch = async (request: Request) => {
    sent.push(request.clone());
    const res = await next(request);
    requestIds.push(res.headers.get("x-request-id"));
    return res;
  };
  return { sent, requestIds, fetch };
}

/** Waits are recorded, not slept: the backoff is asserted by value, never by the clock. */
function recordedSleep() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

const client = (token: string | undefined, fetch = platform, retry?: RetryOptions) =>
  createPlatformClient({ baseUrl: BASE, fetch, ...(token ? { token } : {}), ...(retry ? { retry } : {}) });

const envelope = (status: number, code: string, headers: Record<string, string> = {}) =>
  Response.json(
    { error: { code, message: `injected ${code}`, request_id: `req-${status}` } },
    { status, headers },
  );

const errorOf = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof PlatformError)) throw new Error(`expected a PlatformError, got ${String(err)}`);
  return err;
};

describe("SDK: auth and typed errors", () => {
  it("sends the bearer token; without one the platform's 401 becomes a PlatformError", async () => {
    const user = await newCaller("user");
    const prefs = await ok(client(user.token).GET("/api/v1/notifications/preferences"));
    expect(prefs).toHaveProperty("quiet_hours");

    const err = await errorOf(ok(client(undefined).GET("/api/v1/notifications/preferences")));
    expect(err).toMatchObject({ status: 401, code: "UNAUTHENTICATED" });
    expect(err.requestId).toMatch(/\S/);
  });

  it("carries the envelope's code, message, request_id and details", async () => {
    const user = await newCaller("user");
    const rec = recording();
    const api = client(user.token, rec.fetch);
    const invalid = await errorOf(
      ok(api.POST("/api/v1/payments/create-intent", { body: { amount: -5, currency: "usd" } })),
    );
    expect(invalid).toMatchObject({ status: 400, code: "VALIDATION_FAILED" });
    expect(JSON.stringify(invalid.details)).toContain("amount");
    expect(invalid.message).not.toBe("");

    const missing = await errorOf(
      ok(api.GET("/api/v1/payments/{payment_id}", { params: { path: { payment_id: crypto.randomUUID() } } })),
    );
    expect(missing).toMatchObject({ status: 404, code: "NOT_FOUND" });
    // The request id is the one the platform answered with, so a support ticket can name it.
    expect(missing.requestId).toMatch(/\S/);
    expect(missing.requestId).toBe(rec.requestIds.at(-1));
    expect(rec.sent).toHaveLength(2);
  });

  it("is UNEXPECTED_RESPONSE for an answer without an envelope", async () => {
    const api = client("t", async () => new Response("<html>bad gateway</html>", { status: 502 }));
    const err = await errorOf(ok(api.GET("/api/v1/subscriptions/plans")));
    expect(err).toMatchObject({ status: 502, code: "UNEXPECTED_RESPONSE", requestId: null });
  });
});

describe("SDK: Idempotency-Key", () => {
  it("gives every POST its own key, keeps a caller's key and sends none on GET", async () => {
    const user = await newCaller("user");
    const rec = recording();
    const api = client(user.token, rec.fetch);
    const a = await ok(
      api.POST("/api/v1/payments/create-intent", { body: { amount: 1000, currency: "usd" } }),
    );
    const b = await ok(
      api.POST("/api/v1/payments/create-intent", { body: { amount: 1000, currency: "usd" } }),
    );
    const mine = `mine-${crypto.randomUUID()}`;
    const c = await ok(
      api.POST("/api/v1/payments/create-intent", {
        params: { header: { "idempotency-key": mine } },
        body: { amount: 1000, currency: "usd" },
      }),
    );
    await ok(api.GET("/api/v1/payments/history"));

    const keys = rec.sent.map((r) => r.headers.get("idempotency-key"));
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[0]).not.toBe(keys[1]);
    expect(keys.slice(2)).toEqual([mine, null]);
    expect(new Set([a.payment_id, b.payment_id, c.payment_id]).size).toBe(3);
  });

  it("a retry after a lost answer reuses the key and gets the first payment back, not a second one", async () => {
    const user = await newCaller("user");
    const { waits, sleep } = recordedSleep();
    let first = true;
    // The first attempt reaches the platform and creates the payment; its answer is "lost" on
    // the way back and the client sees a 503 instead.
    const rec = recording(async (request) => {
      const res = await platform(request);
      if (!first) return res;
      first = false;
      await res.body?.cancel();
      return envelope(503, "UPSTREAM_UNAVAILABLE", { "retry-after": "2" });
    });
    const api = client(user.token, rec.fetch, { sleep });
    const intent = await ok(
      api.POST("/api/v1/payments/create-intent", { body: { amount: 2500, currency: "eur" } }),
    );

    expect(rec.sent).toHaveLength(2);
    const [key1, key2] = rec.sent.map((r) => r.headers.get("idempotency-key"));
    expect(key1).toMatch(/\S/);
    expect(key2).toBe(key1);
    expect(waits).toEqual([2000]);
    const rows = await paymentsOf(user.sub);
    expect(rows.map((r) => r.id)).toEqual([intent.payment_id]);
  });

  it("a retry after Stripe's 429 (the platform's 503 with Retry-After) makes exactly one PaymentIntent", async () => {
    const user = await newCaller("user");
    const m = marker();
    const { id } = await injectFault({
      path_prefix: "/v1/payment_intents",
      method: "POST",
      status: 429,
      retry_after: 3,
      count: 1,
      body_contains: m,
    });
    const { waits, sleep } = recordedSleep();
    const rec = recording();
    const api = client(user.token, rec.fetch, { sleep });
    const intent = await ok(
      api.POST("/api/v1/payments/create-intent", {
        body: { amount: 4321, currency: "usd", metadata: { marker: m } },
      }),
    );
    await clearFault(id);

    expect(rec.sent).toHaveLength(2);
    expect(rec.sent[1]?.headers.get("idempotency-key")).toBe(rec.sent[0]?.headers.get("idempotency-key"));
    // The wait honours the platform's Retry-After (whole seconds) rather than the short backoff.
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(1000);
    expect((await paymentsOf(user.sub)).map((r) => r.id)).toEqual([intent.payment_id]);
    const applied = (await emulatorRequests({ idempotency_key: `pi:${intent.payment_id}` })).filter(
      (r) => r.status === 200 && !r.replayed && !r.fault,
    );
    expect(applied).toHaveLength(1);
  });
});

describe("SDK: retries", () => {
  it("honours Retry-After on 429, then returns the answer; one beyond maxDelayMs is returned at once", async () => {
    const user = await newCaller("user");
    const { waits, sleep } = recordedSleep();
    let throttled = 2;
    const rec = recording(async (request) =>
      throttled-- > 0 ? envelope(429, "RATE_LIMITED", { "retry-after": "7" }) : platform(request),
    );
    const plans = await ok(client(user.token, rec.fetch, { sleep }).GET("/api/v1/subscriptions/plans"));
    expect(plans).toBeDefined();
    expect(waits).toEqual([7000, 7000]);

    // A Retry-After beyond maxDelayMs is not cut short: the 429 is the answer.
    throttled = 2;
    const capped = recordedSleep();
    const err = await errorOf(
      ok(
        client(user.token, rec.fetch, { sleep: capped.sleep, maxDelayMs: 1500 }).GET(
          "/api/v1/subscriptions/plans",
        ),
      ),
    );
    expect(err).toMatchObject({ status: 429, code: "RATE_LIMITED" });
    expect(capped.waits).toEqual([]);
  });

  it("gives up after `attempts` and throws the last answer; other errors are not retried", async () => {
    const { waits, sleep } = recordedSleep();
    const down = recording(async () => envelope(503, "UPSTREAM_UNAVAILABLE"));
    const err = await errorOf(
      ok(
        client("t", down.fetch, { sleep, attempts: 3, baseDelayMs: 100 }).GET("/api/v1/subscriptions/plans"),
      ),
    );
    expect(err).toMatchObject({ status: 503, code: "UPSTREAM_UNAVAILABLE", requestId: "req-503" });
    expect(down.sent).toHaveLength(3);
    // Exponential with full jitter: each wait is within its step's ceiling.
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeLessThanOrEqual(100);
    expect(waits[1]).toBeLessThanOrEqual(200);

    const user = await newCaller("user");
    const rec = recording();
    await errorOf(
      ok(
        client(user.token, rec.fetch, { sleep }).POST("/api/v1/payments/confirm", {
          body: { payment_id: crypto.randomUUID(), payment_method: "pm_card_visa" },
        }),
      ),
    );
    expect(rec.sent).toHaveLength(1);
  });
});

describe("SDK: pagination", () => {
  it("iterates every item across pages, newest first, one request per page", async () => {
    const user = await newCaller("user");
    const api = client(user.token);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        (await ok(api.POST("/api/v1/payments/create-intent", { body: { amount: 100 + i, currency: "usd" } })))
          .payment_id,
      );
    }
    const rec = recording();
    const seen: string[] = [];
    for await (const p of client(user.token, rec.fetch).paginate("/api/v1/payments/history", {
      query: { limit: 2 },
    })) {
      seen.push(p.payment_id);
    }
    expect(seen).toEqual([...ids].reverse());
    expect(rec.sent.map((r) => new URL(r.url).searchParams.has("cursor"))).toEqual([false, true, true]);

    // Breaking out stops fetching.
    const early = recording();
    for await (const p of client(user.token, early.fetch).paginate("/api/v1/payments/history", {
      query: { limit: 2 },
    })) {
      expect(p.payment_id).toBe(ids[4]);
      break;
    }
    expect(early.sent).toHaveLength(1);
  });
});

describe("SDK: a payment end to end", () => {
  it("create intent → confirm (Stripe emulator) → history → refund", async () => {
    const user = await newCaller("user");
    const admin = await newCaller("admin");
    const api = client(user.token);

    const intent = await ok(
      api.POST("/api/v1/payments/create-intent", { body: { amount: 5000, currency: "usd" } }),
    );
    expect(intent.status).toBe("requires_payment_method");
    const confirmed = await ok(
      api.POST("/api/v1/payments/confirm", {
        body: { payment_id: intent.payment_id, payment_method: "pm_card_visa" },
      }),
    );
    expect(confirmed.status).toBe("succeeded");

    const succeeded = [];
    for await (const p of api.paginate("/api/v1/payments/history", { query: { status: "succeeded" } }))
      succeeded.push(p);
    expect(succeeded.map((p) => [p.payment_id, p.amount, p.status])).toEqual([
      [intent.payment_id, 5000, "succeeded"],
    ]);

    const refunded = await ok(
      client(admin.token).POST("/api/v1/payments/{payment_id}/refund", {
        params: { path: { payment_id: intent.payment_id } },
        body: { amount: 1500, reason: "requested_by_customer" },
      }),
    );
    expect(refunded.refund).toMatchObject({ amount: 1500, status: "succeeded" });
    expect(refunded.payment).toMatchObject({ status: "partially_refunded", amount_refunded: 1500 });

    const after = await ok(
      api.GET("/api/v1/payments/{payment_id}", { params: { path: { payment_id: intent.payment_id } } }),
    );
    expect(after).toMatchObject({ status: "partially_refunded", amount_refunded: 1500 });
  });
});

describe("SDK: a failing network", () => {
  it("a lost connection on a POST is retried with the same Idempotency-Key: one payment", async () => {
    const user = await newCaller("user");
    const { waits, sleep } = recordedSleep();
    let first = true;
    // The first attempt reaches the platform and creates the payment, then the connection drops:
    // fetch rejects, as it does on a reset, and no answer at all reaches the client.
    const rec = recording(async (request) => {
      const res = await platform(request);
      if (!first) return res;
      first = false;
      await res.body?.cancel();
      throw new TypeError("fetch failed: connection reset");
    });
    const api = client(user.token, rec.fetch, { sleep, baseDelayMs: 10 });
    const intent = await ok(
      api.POST("/api/v1/payments/create-intent", { body: { amount: 2600, currency: "eur" } }),
    );
    expect(rec.sent).toHaveLength(2);
    expect(rec.sent[1]?.headers.get("idempotency-key")).toBe(rec.sent[0]?.headers.get("idempotency-key"));
    expect(waits).toHaveLength(1);
    expect((await paymentsOf(user.sub)).map((r) => r.id)).toEqual([intent.payment_id]);
  });

  it("an abort during a Retry-After wait ends the call at once, and nothing more is sent", async () => {
    const controller = new AbortController();
    const down = recording(async () => {
      queueMicrotask(() => controller.abort(new Error("user gave up")));
      return envelope(503, "UPSTREAM_UNAVAILABLE", { "retry-after": "20" });
    });
    // The default sleep (setTimeout): without the signal it would hold the call for the 20 s Retry-After.
    const api = client("t", down.fetch);
    const started = Date.now();
    const outcome = await api.GET("/api/v1/subscriptions/plans", { signal: controller.signal }).then(
      () => "resolved",
      (e: unknown) => (e instanceof Error ? e.message : String(e)),
    );
    expect(outcome).toBe("user gave up");
    expect(Date.now() - started).toBeLessThan(2000);
    expect(down.sent).toHaveLength(1);
  });

  it("a Retry-After longer than maxDelayMs is not cut short: the answer is returned, not retried early", async () => {
    const { waits, sleep } = recordedSleep();
    const busy = recording(async () => envelope(429, "RATE_LIMITED", { "retry-after": "3600" }));
    const err = await errorOf(ok(client("t", busy.fetch, { sleep }).GET("/api/v1/subscriptions/plans")));
    expect(err).toMatchObject({ status: 429, code: "RATE_LIMITED" });
    expect(busy.sent).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it("a page whose next_cursor repeats the cursor just sent ends the iteration with an error, not a loop", async () => {
    const loop = recording(async (request) =>
      Response.json({ items: [], next_cursor: new URL(request.url).searchParams.get("cursor") ?? "c1" }),
    );
    const seen: unknown[] = [];
    const outcome = await (async () => {
      for await (const p of client("t", loop.fetch).paginate("/api/v1/payments/history")) seen.push(p);
      return "done";
    })().catch((e: unknown) => (e instanceof Error ? e.name : String(e)));
    expect(outcome).toBe("PlatformError");
    expect(loop.sent.length).toBeLessThanOrEqual(2);
  });
});

describe("SDK: which POSTs are resent after a lost connection", () => {
  it("exactly the operations whose document takes an idempotency-key header", async () => {
    const doc = (await openApiDoc()) as unknown as {
      paths: Record<string, { post?: { parameters?: { name?: string; in?: string }[] } }>;
    };
    const posts = Object.entries(doc.paths).flatMap(([path, ops]) =>
      ops.post ? [[path, ops.post] as const] : [],
    );
    expect(posts.length).toBeGreaterThan(5);
    for (const [path, op] of posts) {
      const takesKey = (op.parameters ?? []).some((p) => p.in === "header" && p.name === "idempotency-key");
      expect([path, honoursIdempotencyKey(path.replace(/\{[^}]+\}/g, "x"))]).toEqual([path, takesKey]);
    }
  });

  it("a lost connection on a POST that ignores the key (a support ticket) is not resent", async () => {
    const { sleep } = recordedSleep();
    const rec = recording(async () => {
      throw new TypeError("fetch failed: connection reset");
    });
    const outcome = await client("t", rec.fetch, { sleep })
      .POST("/api/v1/support/tickets", { body: { subject: "s", message: "m" } as never })
      .then(
        () => "resolved",
        (e: unknown) => (e instanceof TypeError ? "TypeError" : String(e)),
      );
    expect(outcome).toBe("TypeError");
    expect(rec.sent).toHaveLength(1);
  });
});

describe("SDK retries: a 503 only resends what is safe to resend", () => {
  it("a 503 on a POST that ignores the key (a support ticket) is returned, not resent", async () => {
    const { waits, sleep } = recordedSleep();
    const rec = recording(async () => envelope(503, "UPSTREAM_UNAVAILABLE", { "retry-after": "1" }));
    const err = await errorOf(
      ok(
        client("t", rec.fetch, { sleep }).POST("/api/v1/support/tickets", {
          body: { subject: "s", message: "m" } as never,
        }),
      ),
    );
    expect(err).toMatchObject({ status: 503, code: "UPSTREAM_UNAVAILABLE" });
    expect(rec.sent).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it("a 429 on the same POST is retried: a refusal means nothing ran", async () => {
    const { sleep } = recordedSleep();
    let calls = 0;
    const rec = recording(async () =>
      ++calls === 1
        ? envelope(429, "RATE_LIMITED", { "retry-after": "1" })
        : envelope(503, "UPSTREAM_UNAVAILABLE"),
    );
    await errorOf(
      ok(
        client("t", rec.fetch, { sleep }).POST("/api/v1/support/tickets", {
          body: { subject: "s", message: "m" } as never,
        }),
      ),
    );
    expect(rec.sent).toHaveLength(2);
  });
});
