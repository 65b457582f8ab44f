import { env } from "cloudflare:workers";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { EMULATOR, eventOf, pullWebhooks, stripeClient } from "../helpers/stripe";

const stripe = stripeClient();

/** Runs a call that must fail and returns the SDK's error. */
async function failure(p: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof Stripe.errors.StripeError) return err;
    throw err;
  }
  throw new Error("expected a Stripe error");
}

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
});
