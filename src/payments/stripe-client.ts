import Stripe from "stripe";
import type { Config } from "../platform/config";

// One client per isolate per config: the SDK is stateless apart from its settings.
const clients = new WeakMap<Config, Stripe>();

/** Stripe's SDK pointed at config.STRIPE_API_URL (the real API, or the emulator locally). */
export function stripeClient(config: Config): Stripe {
  const hit = clients.get(config);
  if (hit) return hit;
  const url = new URL(config.STRIPE_API_URL);
  const protocol = url.protocol === "http:" ? "http" : "https";
  const client = new Stripe(config.STRIPE_SECRET_KEY, {
    httpClient: Stripe.createFetchHttpClient(),
    host: url.hostname,
    port: url.port ? Number(url.port) : protocol === "http" ? 80 : 443,
    protocol,
    // One retry (with the same idempotency key, which the SDK adds) for network blips and 5xx.
    maxNetworkRetries: 1,
    timeout: 10_000,
  });
  clients.set(config, client);
  return client;
}

export const webhookCrypto = Stripe.createSubtleCryptoProvider();
