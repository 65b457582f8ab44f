import { StripeError } from "./errors";
import type { Store } from "./store";

export type FaultSpec = {
  path_prefix: string;
  method?: string | null;
  /** Omitted: only delay, then answer normally (simulates a slow upstream / client timeout). */
  status?: number | null;
  count?: number;
  delay_ms?: number | null;
  retry_after?: number | null;
  /** Only requests whose decoded body or query contains this text (keeps parallel tests apart). */
  body_contains?: string | null;
  /** With status 429: `lock_timeout` (another request holds the object) instead of `rate_limit`. */
  code?: "lock_timeout" | null;
};

type Row = {
  id: number;
  status: number | null;
  delay_ms: number | null;
  retry_after: number | null;
  code: string | null;
};

/** Takes (and consumes) the first fault that matches this request, if any. */
export function takeFault(store: Store, method: string, path: string, decodedBody: string): Row | null {
  const rows = store.sql
    .exec<Row & { path_prefix: string; method: string | null; body_contains: string | null }>(
      "SELECT id, path_prefix, method, status, delay_ms, retry_after, body_contains, code FROM faults WHERE remaining > 0 ORDER BY id",
    )
    .toArray();
  const hit = rows.find(
    (r) =>
      path.startsWith(r.path_prefix) &&
      (r.method === null || r.method.toUpperCase() === method) &&
      (r.body_contains === null || decodedBody.includes(r.body_contains)),
  );
  if (!hit) return null;
  store.sql.exec("UPDATE faults SET remaining = remaining - 1 WHERE id = ?", hit.id);
  return hit;
}

export function addFault(store: Store, spec: FaultSpec): number {
  const row = store.sql
    .exec<{ id: number }>(
      "INSERT INTO faults (path_prefix, method, status, remaining, delay_ms, retry_after, body_contains, code) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
      spec.path_prefix,
      spec.method ?? null,
      spec.status ?? null,
      spec.count ?? 1,
      spec.delay_ms ?? null,
      spec.retry_after ?? null,
      spec.body_contains ?? null,
      spec.code ?? null,
    )
    .one();
  return row.id;
}

/**
 * Stripe's answers for injected statuses. An object lock that times out is a 429 with code
 * `lock_timeout` (docs.stripe.com/rate-limits, "Object lock timeouts"; the SDK maps every 429 to
 * StripeRateLimitError), never a 409: Stripe's only 409 is `idempotency_key_in_use`, which the
 * emulator produces itself for concurrent requests with one key.
 */
export function faultError(status: number, retryAfter: number | null, code: string | null): StripeError {
  const headers: Record<string, string> = retryAfter !== null ? { "Retry-After": String(retryAfter) } : {};
  if (status === 429 && code === "lock_timeout") {
    return new StripeError({
      status,
      type: "invalid_request_error",
      code: "lock_timeout",
      message:
        "This object cannot be accessed right now because another API request or Stripe process is currently accessing it. If you see this error intermittently, retry the request. If you see this error frequently and are making multiple concurrent requests to a single object, make your requests serially or at a lower rate.",
      // Stripe advises the SDKs to retry a lock timeout.
      headers: { ...headers, "Stripe-Should-Retry": "true" },
    });
  }
  if (status === 429) {
    return new StripeError({
      status,
      type: "rate_limit_error",
      code: "rate_limit",
      message:
        "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.",
      headers,
    });
  }
  return new StripeError({
    status,
    type: "api_error",
    message:
      "An unknown error occurred while processing this request. Please retry (the emulator injected this fault).",
    headers,
  });
}
