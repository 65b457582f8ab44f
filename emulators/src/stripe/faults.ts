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
};

type Row = { id: number; status: number | null; delay_ms: number | null; retry_after: number | null };

/** Takes (and consumes) the first fault that matches this request, if any. */
export function takeFault(store: Store, method: string, path: string, decodedBody: string): Row | null {
  const rows = store.sql
    .exec<Row & { path_prefix: string; method: string | null; body_contains: string | null }>(
      "SELECT id, path_prefix, method, status, delay_ms, retry_after, body_contains FROM faults WHERE remaining > 0 ORDER BY id",
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
      "INSERT INTO faults (path_prefix, method, status, remaining, delay_ms, retry_after, body_contains) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
      spec.path_prefix,
      spec.method ?? null,
      spec.status ?? null,
      spec.count ?? 1,
      spec.delay_ms ?? null,
      spec.retry_after ?? null,
      spec.body_contains ?? null,
    )
    .one();
  return row.id;
}

export function faultError(status: number, retryAfter: number | null): StripeError {
  if (status === 429) {
    return new StripeError({
      status,
      type: "rate_limit_error",
      code: "rate_limit",
      message:
        "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.",
      headers: retryAfter !== null ? { "Retry-After": String(retryAfter) } : {},
    });
  }
  if (status === 409) {
    return new StripeError({
      status,
      type: "invalid_request_error",
      code: "lock_timeout",
      message:
        "This object cannot be accessed right now because another API request or Stripe process is currently accessing it.",
    });
  }
  return new StripeError({
    status,
    type: "api_error",
    message:
      "An unknown error occurred while processing this request. Please retry (the emulator injected this fault).",
    ...(retryAfter !== null ? { headers: { "Retry-After": String(retryAfter) } } : {}),
  });
}
