import { env } from "cloudflare:workers";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import {
  EMULATOR,
  emulatorRequests,
  eventOf,
  injectFault,
  pullWebhooks,
  signPayload,
  stripeClient,
  stripeFailure,
} from "../helpers/stripe";

const stripe = stripeClient();

const failure = stripeFailure;

describe("stripe emulator: protocol", () => {
  it("round-trips bracket-notation metadata and nested params through the real SDK", async () => {
    const tag = crypto.randomUUID();
    const customer = await stripe.customers.create({
      email: `${tag}@example.com`,
      metadata: { tag, "weird key": "a&b=c[d]" },
    });
    expect(customer.id).toMatch(/^cus_/);
    expect(customer.object).toBe("customer");
    expect(customer.livemode).toBe(false);
    expect(customer.metadata).toEqual({ tag, "weird key": "a&b=c[d]" });
    const again = await stripe.customers.retrieve(customer.id);
    expect(again).toEqual(customer);
  });

  it("rejects a missing or non-test key with 401 in Stripe's shape", async () => {
    const err = await failure(stripeClient("sk_live_nope1234").customers.create({}));
    expect(err).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(err.statusCode).toBe(401);
    expect(err.message).toContain("Invalid API Key provided");
    const res = await fetch(`${EMULATOR}/v1/customers`, { method: "POST" });
    expect(res.status).toBe(401);
    expect(res.headers.get("request-id")).toMatch(/^req_/);
    const body = (await res.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toContain("You did not provide an API key");
  });

  it("answers unknown ids with 404 resource_missing", async () => {
    const err = await failure(stripe.paymentIntents.retrieve("pi_doesnotexist"));
    expect(err.statusCode).toBe(404);
    expect(err.code).toBe("resource_missing");
    expect(err.param).toBe("intent");
    expect(err.requestId).toMatch(/^req_/);
  });

  it("rejects unknown parameters (a card number never gets through)", async () => {
    const params = {
      amount: 1000,
      currency: "usd",
      card_number: "4242424242424242",
    } as unknown as Stripe.PaymentIntentCreateParams;
    const err = await failure(stripe.paymentIntents.create(params));
    expect(err.statusCode).toBe(400);
    expect(err.code).toBe("parameter_unknown");
    expect(err.param).toBe("card_number");
  });
});

describe("stripe emulator: request log", () => {
  it("filters by a full path prefix, however long, and treats `_` literally", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 700, currency: "usd" });
    await stripe.paymentIntents.confirm(pi.id, { payment_method: "pm_card_visa" });
    const path = `/v1/payment_intents/${pi.id}/confirm`;
    const logged = await emulatorRequests({ path_prefix: path });
    expect(logged.map((r) => r.path)).toEqual([path]);
    // `_` is a LIKE wildcard; a prefix differing only there must not match.
    expect(
      await emulatorRequests({ path_prefix: path.replace("payment_intents", "paymentXintents") }),
    ).toEqual([]);
  });
});

describe("stripe emulator: webhooks", () => {
  it("records a signed delivery for each event that the SDK verifies", async () => {
    const tag = crypto.randomUUID();
    const customer = await stripe.customers.create({ metadata: { tag } });
    const { deliveries } = await pullWebhooks({ type: "customer.created", forObject: customer.id });
    expect(deliveries).toHaveLength(1);
    const [delivery] = deliveries;
    if (!delivery) throw new Error("no delivery");
    expect(delivery.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    const event = await stripe.webhooks.constructEventAsync(
      delivery.payload,
      delivery.signature,
      env.STRIPE_WEBHOOK_SECRET,
      undefined,
      Stripe.createSubtleCryptoProvider(),
    );
    expect(event.type).toBe("customer.created");
    expect(event.api_version).toBe(Stripe.API_VERSION);
    expect(event.id).toMatch(/^evt_/);
    expect((event.data.object as Stripe.Customer).id).toBe(customer.id);
    expect(eventOf(delivery).request?.id).toMatch(/^req_/);
  });

  async function oneDelivery() {
    const customer = await stripe.customers.create({ metadata: { tag: crypto.randomUUID() } });
    const [delivery] = (await pullWebhooks({ forObject: customer.id })).deliveries;
    if (!delivery) throw new Error("no delivery");
    return delivery;
  }

  const verify = (payload: string, signature: string) =>
    stripe.webhooks.constructEventAsync(
      payload,
      signature,
      env.STRIPE_WEBHOOK_SECRET,
      undefined,
      Stripe.createSubtleCryptoProvider(),
    );

  it("signatures fail verification for a tampered payload, a stale timestamp and a forged secret", async () => {
    const delivery = await oneDelivery();
    await expect(
      verify(delivery.payload.replace('"livemode": false', '"livemode": true'), delivery.signature),
    ).rejects.toThrow(Stripe.errors.StripeSignatureVerificationError);
    const stale = await signPayload(delivery.payload, Math.floor(Date.now() / 1000) - 600);
    await expect(verify(delivery.payload, stale)).rejects.toThrow(/Timestamp outside the tolerance zone/);
    const forged = await signPayload(delivery.payload, undefined, "whsec_not_the_secret");
    await expect(verify(delivery.payload, forged)).rejects.toThrow(
      Stripe.errors.StripeSignatureVerificationError,
    );
    // And a fresh signature over the same bytes is accepted, so replays can be rebuilt.
    expect((await verify(delivery.payload, await signPayload(delivery.payload))).id).toBe(delivery.event_id);
  });

  it("pages through deliveries with the `next` cursor", async () => {
    const first = await oneDelivery();
    const page = await pullWebhooks({ since: String(first.id - 1) });
    expect(page.deliveries[0]?.event_id).toBe(first.event_id);
    const after = await pullWebhooks({ since: page.next });
    expect(after.deliveries.every((d) => d.id > Number(page.next))).toBe(true);
  });
});

describe("stripe emulator: idempotency", () => {
  it("replays the stored response for the same key and parameters", async () => {
    const key = `test-${crypto.randomUUID()}`;
    const params = { email: "a@example.com", metadata: { order: "1" } };
    const first = await stripe.customers.create(params, { idempotencyKey: key });
    const second = await stripe.customers.create(params, { idempotencyKey: key });
    expect(second.id).toBe(first.id);
    expect(second).toEqual(first);
    const logged = await emulatorRequests({ idempotency_key: key });
    expect(logged.map((r) => r.replayed)).toEqual([false, true]);
    // One object, one event: the replay changed nothing.
    expect((await pullWebhooks({ forObject: first.id })).deliveries).toHaveLength(1);
  });

  it("replays a decline too (same 402 body), without charging again", async () => {
    const key = `test-${crypto.randomUUID()}`;
    const pi = await stripe.paymentIntents.create({ amount: 1000, currency: "usd" });
    const call = () =>
      stripe.paymentIntents.confirm(
        pi.id,
        { payment_method: "pm_card_chargeDeclined" },
        { idempotencyKey: key },
      );
    const a = await failure(call());
    const b = await failure(call());
    expect(b.statusCode).toBe(402);
    expect(b.payment_intent).toEqual(a.payment_intent);
    expect([b.code, b.decline_code, b.message]).toEqual([a.code, a.decline_code, a.message]);
    expect(b.headers?.["idempotent-replayed"]).toBe("true");
    expect((await pullWebhooks({ type: "charge.failed", forObject: pi.id })).deliveries).toHaveLength(1);
  });

  it("marks a raw replay with Idempotent-Replayed and returns the identical bytes", async () => {
    const key = `test-${crypto.randomUUID()}`;
    const post = () =>
      fetch(`${EMULATOR}/v1/customers`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${env.STRIPE_SECRET_KEY}`,
          "content-type": "application/x-www-form-urlencoded",
          "idempotency-key": key,
        },
        body: "email=raw%40example.com&metadata[a]=1",
      });
    const first = await post();
    const second = await post();
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(second.headers.get("original-request")).toBe(first.headers.get("request-id"));
    expect(await second.text()).toBe(await first.text());
  });

  it("rejects the same key with different parameters as idempotency_error", async () => {
    const key = `test-${crypto.randomUUID()}`;
    await stripe.customers.create({ email: "a@example.com" }, { idempotencyKey: key });
    const err = await failure(stripe.customers.create({ email: "b@example.com" }, { idempotencyKey: key }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(err.statusCode).toBe(400);
    expect(err.type).toBe("StripeIdempotencyError");
    expect(err.message).toContain("same parameters");
  });

  it("scopes keys per API key", async () => {
    const key = `test-${crypto.randomUUID()}`;
    const a = await stripe.customers.create({ email: "a@example.com" }, { idempotencyKey: key });
    const other = stripeClient(`sk_test_${crypto.randomUUID().replaceAll("-", "")}`);
    const b = await other.customers.create({ email: "b@example.com" }, { idempotencyKey: key });
    expect(b.id).not.toBe(a.id);
  });
});

describe("stripe emulator: fault injection", () => {
  it("fails the next matching request with 500, then recovers; a retry with the same key succeeds", async () => {
    const tag = crypto.randomUUID();
    await injectFault({
      path_prefix: "/v1/customers",
      method: "POST",
      status: 500,
      count: 1,
      body_contains: tag,
    });
    const key = `test-${crypto.randomUUID()}`;
    const err = await failure(stripe.customers.create({ metadata: { tag } }, { idempotencyKey: key }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(err.statusCode).toBe(500);
    const ok = await stripe.customers.create({ metadata: { tag } }, { idempotencyKey: key });
    expect(ok.metadata.tag).toBe(tag);
    const log = await emulatorRequests({ idempotency_key: key });
    expect(log.map((r) => [r.status, r.fault])).toEqual([
      [500, true],
      [200, false],
    ]);
  });

  it("answers 429 rate_limit_error with Retry-After", async () => {
    const tag = crypto.randomUUID();
    await injectFault({ path_prefix: "/v1/customers", status: 429, retry_after: 7, body_contains: tag });
    const err = await failure(stripe.customers.create({ metadata: { tag } }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(err.headers?.["retry-after"]).toBe("7");
    expect(err.code).toBe("rate_limit");
  });

  it("delays a request past the client's timeout", async () => {
    const tag = crypto.randomUUID();
    await injectFault({ path_prefix: "/v1/customers", delay_ms: 1500, body_contains: tag });
    const impatient = new Stripe(env.STRIPE_SECRET_KEY, {
      httpClient: Stripe.createFetchHttpClient(),
      host: "127.0.0.1",
      port: 8788,
      protocol: "http",
      maxNetworkRetries: 0,
      timeout: 200,
    });
    const err = await failure(impatient.customers.create({ metadata: { tag } }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeConnectionError);
  });
});
