import { env, exports } from "cloudflare:workers";
import Stripe from "stripe";

/**
 * Helpers for tests that talk to the Stripe emulator (emulators/src/stripe). Every fetch made
 * from test code is routed to the emulators worker, so these URLs reach it exactly as
 * `npm start` would on 127.0.0.1:8788.
 */
export const EMULATOR = "http://127.0.0.1:8788";

/** The real stripe SDK (worker build, fetch client) pointed at the emulator, no retries. */
export function stripeClient(key: string = env.STRIPE_SECRET_KEY): Stripe {
  return new Stripe(key, {
    httpClient: Stripe.createFetchHttpClient(),
    host: "127.0.0.1",
    port: 8788,
    protocol: "http",
    maxNetworkRetries: 0,
  });
}

async function control<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(`${EMULATOR}/_emulator/stripe${path}`, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    ...(init.body === undefined
      ? {}
      : { headers: { "content-type": "application/json" }, body: JSON.stringify(init.body) }),
  });
  const body = (await res.json()) as T & { error?: { message?: string } };
  if (!res.ok)
    throw new Error(`emulator ${path} → ${res.status}: ${body.error?.message ?? JSON.stringify(body)}`);
  return body;
}

/** One recorded webhook: `payload` is the exact raw body, `signature` the Stripe-Signature header value. */
export type WebhookDelivery = {
  id: number;
  event_id: string;
  type: string;
  payload: string;
  signature: string;
  timestamp: number;
};

/**
 * Reads recorded webhook deliveries, oldest first. `since` is the `next` cursor of an earlier
 * call; `type` accepts globs (`payment_intent.*`). The emulator is shared by all tests, so
 * filter by your own object ids, e.g. `deliveries.filter(d => d.payload.includes(pi.id))`,
 * or use `forObject`.
 */
export async function pullWebhooks(
  opts: { since?: string; type?: string; forObject?: string } = {},
): Promise<{ deliveries: WebhookDelivery[]; next: string }> {
  const q = new URLSearchParams();
  if (opts.since) q.set("since", opts.since);
  if (opts.type) q.set("type", opts.type);
  q.set("limit", "1000");
  const page = await control<{ deliveries: WebhookDelivery[]; next: string }>(`/webhooks?${q}`);
  const forObject = opts.forObject;
  return forObject
    ? { ...page, deliveries: page.deliveries.filter((d) => d.payload.includes(forObject)) }
    : page;
}

/** The parsed event inside a delivery. */
export function eventOf(delivery: Pick<WebhookDelivery, "payload">): Stripe.Event {
  return JSON.parse(delivery.payload) as Stripe.Event;
}

/** POSTs a delivery to the platform's webhook endpoint, as Stripe would (same bytes, same header). */
export function deliverWebhook(delivery: { payload: string; signature: string }): Promise<Response> {
  return exports.default.fetch(
    new Request("http://platform.test/api/v1/payments/webhook", {
      method: "POST",
      headers: {
        "content-type": "application/json; charset=utf-8",
        "user-agent": "Stripe/1.0",
        "stripe-signature": delivery.signature,
      },
      body: delivery.payload,
    }),
  );
}

/** Signs any payload with the webhook secret (or `secret`, to forge); `timestamp` in unix seconds builds stale cases. */
export async function signPayload(payload: string, timestamp?: number, secret?: string): Promise<string> {
  const body = {
    payload,
    ...(timestamp === undefined ? {} : { timestamp }),
    ...(secret === undefined ? {} : { secret }),
  };
  return (await control<{ signature: string }>("/sign", { body })).signature;
}

/** What Stripe.js would do in the browser: confirm (and complete 3-D Secure unless `authenticate: false`). */
export async function confirmClientSide(
  paymentIntentId: string,
  opts: { payment_method?: string; authenticate?: boolean } = {},
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${EMULATOR}/_emulator/stripe/payment_intents/${paymentIntentId}/confirm`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(opts),
  });
  return { status: res.status, body: await res.json() };
}

/** Opens a dispute on a succeeded payment (charge.dispute.created). */
export function openDispute(opts: {
  payment_intent?: string;
  charge?: string;
  reason?: string;
}): Promise<Stripe.Dispute> {
  return control<Stripe.Dispute>("/disputes", { body: opts });
}

/** Moves an open dispute along (charge.dispute.updated), e.g. `{ status: "under_review" }`. */
export function updateDispute(
  id: string,
  opts: { status?: string; evidence_due_by?: number },
): Promise<Stripe.Dispute> {
  return control<Stripe.Dispute>(`/disputes/${id}/update`, { body: opts });
}

/** Closes a dispute (or decides its appeal) as won or lost (charge.dispute.closed). */
export function closeDispute(id: string, status: "won" | "lost"): Promise<Stripe.Dispute> {
  return control<Stripe.Dispute>(`/disputes/${id}/close`, { body: { status } });
}

/** Appeals a lost dispute (charge.dispute.updated with status appeal_needs_response). */
export function appealDispute(id: string): Promise<Stripe.Dispute> {
  return control<Stripe.Dispute>(`/disputes/${id}/appeal`, { body: {} });
}

/**
 * Starts the subscription's next period: a paid invoice (invoice.paid + customer.subscription.updated),
 * or with `fail: true` invoice.payment_failed and past_due; a sub set to cancel at period end is deleted.
 */
export function advanceSubscription(id: string, opts: { fail?: boolean } = {}): Promise<Stripe.Subscription> {
  return control<Stripe.Subscription>(`/subscriptions/${id}/advance`, { body: opts });
}

/**
 * The next `count` API requests matching `path_prefix` (and `method`, and `body_contains` —
 * use a value unique to your test, since other tests share the emulator) fail with `status`
 * (500 api_error, 429 rate_limit_error with Retry-After, …) and/or wait `delay_ms` first.
 */
export function injectFault(fault: {
  path_prefix: string;
  status?: number;
  count?: number;
  method?: string;
  delay_ms?: number;
  retry_after?: number;
  body_contains?: string;
  /** With status 429: Stripe's object-lock timeout instead of a rate limit. */
  code?: "lock_timeout";
}): Promise<{ id: number }> {
  return control<{ id: number }>("/faults", { body: fault });
}

export type LoggedRequest = {
  request_id: string;
  method: string;
  path: string;
  idempotency_key: string | null;
  params: Record<string, unknown>;
  status: number;
  replayed: boolean;
  fault: boolean;
};

/** Log of API requests the emulator received, oldest first; filter by path prefix or idempotency key. */
export async function emulatorRequests(
  filter: { path_prefix?: string; idempotency_key?: string } = {},
): Promise<LoggedRequest[]> {
  const q = new URLSearchParams(filter as Record<string, string>);
  return (await control<{ requests: LoggedRequest[] }>(`/requests?${q}`)).requests;
}

/** Puts an intent into `processing` (payment_intent.processing), as a delayed-settlement payment would. */
export function startProcessing(
  paymentIntentId: string,
  paymentMethod?: string,
): Promise<Stripe.PaymentIntent> {
  return control<Stripe.PaymentIntent>(`/payment_intents/${paymentIntentId}/processing`, {
    body: paymentMethod ? { payment_method: paymentMethod } : {},
  });
}

/** Settles a processing intent: succeeded (charge + payment_intent.succeeded) or failed (payment_intent.payment_failed). */
export function settleProcessing(
  paymentIntentId: string,
  outcome: "succeeded" | "failed",
): Promise<Stripe.PaymentIntent> {
  return control<Stripe.PaymentIntent>(`/payment_intents/${paymentIntentId}/settle`, { body: { outcome } });
}

/** Makes a succeeded refund bounce: status failed, refund.updated + refund.failed, charge.amount_refunded restored. */
export function failRefund(refundId: string): Promise<Stripe.Refund> {
  return control<Stripe.Refund>(`/refunds/${refundId}/fail`, { body: {} });
}

/** Settles a pending refund (one made on pm_card_pendingRefund): status succeeded, refund.updated. */
export function settleRefund(refundId: string): Promise<Stripe.Refund> {
  return control<Stripe.Refund>(`/refunds/${refundId}/settle`, { body: {} });
}

/** Awaits a call that must fail and returns the SDK's typed error (anything else rethrows). */
export async function stripeFailure(p: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof Stripe.errors.StripeError) return err;
    throw err;
  }
  throw new Error("expected a Stripe error");
}

/**
 * Ages the emulator's saved Stripe idempotency keys by `seconds` (one key, or all), as if that
 * time had passed: past 24 h Stripe prunes a key and its reuse runs as a new request.
 */
export function ageIdempotencyKeys(seconds: number, key?: string): Promise<{ aged: number }> {
  return control<{ aged: number }>("/idempotency/age", { body: key ? { seconds, key } : { seconds } });
}
