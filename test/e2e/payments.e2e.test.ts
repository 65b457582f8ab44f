import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../helpers/eventually";
import { type LocalPlatform, startPlatform } from "./platform";

type Delivery = { type: string; payload: string; delivered: boolean; last_status: number | null };

/**
 * The e2e platform with the emulators beside it (startPlatform({ emulators: true })), as pages
 * that watch payments happen (the live feed) need: a payment made through the API reaches the
 * Stripe emulator, and its webhook comes back to the platform signed and is accepted.
 */
describe("payments through the API, with the emulators", () => {
  let platform: LocalPlatform;

  beforeAll(async () => {
    platform = await startPlatform({ emulators: true });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  const post = async (path: string, token: string, body: unknown) =>
    fetch(`${platform.url}/api/v1${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("creates and confirms a payment intent, and Stripe's webhook is delivered and accepted", async () => {
    const token = await platform.token("user");
    const created = await post("/payments/create-intent", token, { amount: 1999, currency: "usd" });
    expect(created.status).toBe(201);
    const intent = (await created.json()) as { payment_id: string; client_secret: string; status: string };
    expect(intent.status).toBe("requires_payment_method");
    // The client secret is Stripe's own (pi_…_secret_…): the emulator made the intent.
    const pi = intent.client_secret.split("_secret_")[0] ?? "";
    expect(pi).toMatch(/^pi_/);

    const confirmed = await post("/payments/confirm", token, {
      payment_id: intent.payment_id,
      payment_method: "pm_card_visa",
    });
    expect(confirmed.status).toBe(200);
    expect(((await confirmed.json()) as { status: string }).status).toBe("succeeded");

    // The emulator pushes payment_intent.succeeded to the platform's webhook URL; only a 2xx
    // from the platform (a valid signature, the right secret) marks it delivered.
    const delivery = await eventually(
      async () => {
        const res = await fetch(
          `${platform.emulatorUrl}/_emulator/stripe/webhooks?type=payment_intent.succeeded`,
        );
        const { deliveries } = (await res.json()) as { deliveries: Delivery[] };
        return deliveries.find((d) => d.delivered && d.payload.includes(pi));
      },
      "payment_intent.succeeded delivered to the platform",
      { tries: 100, intervalMs: 200 },
    );
    expect(delivery.last_status).toBe(200);

    const read = await fetch(`${platform.url}/api/v1/payments/${intent.payment_id}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(read.status).toBe(200);
    const payment = (await read.json()) as { status: string; amount: number };
    expect(payment).toMatchObject({ status: "succeeded", amount: 1999 });
  });
});
