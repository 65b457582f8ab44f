import { StripeError } from "./errors";
import type { Store } from "./store";

export type Saved = { status: number; body: string; requestId: string };

type Row = { method: string; path: string; params: string; status: number; body: string; request_id: string };

/**
 * Stripe's idempotency: a key (scoped to the API key) replays the first result for the same
 * endpoint and parameters, and is an `idempotency_error` for anything else.
 */
/** What a saved result is keyed and checked by: the API key's idempotency key, then the request. */
export type IdempotencyScope = { apiKey: string; key: string; method: string; path: string; params: string };

export function lookup(store: Store, scope: IdempotencyScope): Saved | null {
  const { apiKey, key, method, path, params } = scope;
  const row = store.sql
    .exec<Row>(
      "SELECT method, path, params, status, body, request_id FROM idempotency WHERE api_key = ? AND key = ?",
      apiKey,
      key,
    )
    .toArray()[0];
  if (!row) return null;
  if (row.method !== method || row.path !== path) {
    throw new StripeError({
      status: 400,
      type: "idempotency_error",
      message: `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${row.method} ${row.path}' vs '${method} ${path}'). Try using a key other than '${key}' if you meant to execute a different request.`,
    });
  }
  if (row.params !== params) {
    throw new StripeError({
      status: 400,
      type: "idempotency_error",
      message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
    });
  }
  return { status: row.status, body: row.body, requestId: row.request_id };
}

/** Stripe saves a result only once the endpoint ran: successes and card declines, not validation errors. */
export function shouldSave(status: number): boolean {
  return (status >= 200 && status < 300) || status === 402;
}

export function save(store: Store, scope: IdempotencyScope, saved: Saved): void {
  store.sql.exec(
    "INSERT INTO idempotency (api_key, key, method, path, params, status, body, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    scope.apiKey,
    scope.key,
    scope.method,
    scope.path,
    scope.params,
    saved.status,
    saved.body,
    saved.requestId,
  );
}
