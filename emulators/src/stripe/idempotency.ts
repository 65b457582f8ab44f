import { StripeError } from "./errors";
import type { Store } from "./store";

export type Saved = { status: number; body: string; requestId: string };

type Row = { method: string; path: string; params: string; status: number; body: string; request_id: string };

/**
 * Stripe's idempotency: a key (scoped to the API key) replays the first result for the same
 * endpoint and parameters, and is an `idempotency_error` for anything else. Stripe prunes keys
 * once they are at least 24 hours old, and a key reused after that runs as a new request
 * (docs.stripe.com/idempotency); the emulator prunes them on their next use, so a test can age
 * a key (POST /_emulator/stripe/idempotency/age) instead of waiting a day.
 */
export const KEY_LIFETIME_MS = 24 * 60 * 60 * 1000;

/** What a saved result is keyed and checked by: the API key's idempotency key, then the request. */
export type IdempotencyScope = { apiKey: string; key: string; method: string; path: string; params: string };

export function lookup(store: Store, scope: IdempotencyScope): Saved | null {
  const { apiKey, key, method, path, params } = scope;
  store.sql.exec(
    "DELETE FROM idempotency WHERE api_key = ? AND key = ? AND created_at <= ?",
    apiKey,
    key,
    Date.now() - KEY_LIFETIME_MS,
  );
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
    "INSERT INTO idempotency (api_key, key, method, path, params, status, body, request_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    scope.apiKey,
    scope.key,
    scope.method,
    scope.path,
    scope.params,
    saved.status,
    saved.body,
    saved.requestId,
    Date.now(),
  );
}

/**
 * Control: makes saved keys older by `seconds` (all keys, or the one named), as if that time had
 * passed; returns how many were aged. Past 24 h they are pruned on their next use.
 */
export function ageKeys(store: Store, seconds: number, key?: string): number {
  const shift = Math.round(seconds * 1000);
  const cursor = key
    ? store.sql.exec("UPDATE idempotency SET created_at = created_at - ? WHERE key = ?", shift, key)
    : store.sql.exec("UPDATE idempotency SET created_at = created_at - ?", shift);
  return cursor.rowsWritten;
}
