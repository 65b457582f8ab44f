import Stripe from "stripe";
import { ApiError, type ErrorCode } from "../platform/errors";

/**
 * What any Stripe call can answer through mapStripeError, for the routes' documentation. A
 * route adds PAYMENT_FAILED where a card is charged; IDEMPOTENCY_CONFLICT (a key of ours
 * reused with other parameters) only arises behind the Idempotency-Key middleware, which
 * documents it already.
 */
export const STRIPE_ERRORS: ErrorCode[] = [
  "CONFLICT",
  "UNPROCESSABLE",
  "UPSTREAM_FAILED",
  "UPSTREAM_UNAVAILABLE",
];

/**
 * Turns a Stripe SDK error into our envelope. Card errors are handled by the caller
 * (they also move the payment row); everything upstream-ish becomes 502/503 so the
 * client retries with the same Idempotency-Key.
 */
export function mapStripeError(err: unknown, context: string): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof Stripe.errors.StripeCardError) {
    return new ApiError("PAYMENT_FAILED", err.message || "The card was declined", {
      details: { code: err.code ?? null, decline_code: err.decline_code || null },
      cause: err,
    });
  }
  // Another request with the same Stripe idempotency key is still running (a concurrent retry):
  // nothing was done for this one, so it is our retryable 409, not an upstream failure.
  if (
    err instanceof Stripe.errors.StripeError &&
    err.statusCode === 409 &&
    err.code === "idempotency_key_in_use"
  ) {
    return new ApiError("CONFLICT", "The same payment request is already in progress; retry shortly", {
      headers: { "Retry-After": "1" },
      cause: err,
    });
  }
  // Every 429 (rate limit, and `lock_timeout` on a busy object) is StripeRateLimitError.
  if (err instanceof Stripe.errors.StripeRateLimitError) {
    return new ApiError("UPSTREAM_UNAVAILABLE", "Payment provider is rate limiting; retry later", {
      headers: { "Retry-After": "5" },
      cause: err,
    });
  }
  if (err instanceof Stripe.errors.StripeConnectionError) {
    return new ApiError("UPSTREAM_UNAVAILABLE", "Payment provider is unreachable; retry later", {
      headers: { "Retry-After": "5" },
      cause: err,
    });
  }
  if (err instanceof Stripe.errors.StripeIdempotencyError) {
    return new ApiError("IDEMPOTENCY_CONFLICT", "Conflicting retry of an earlier payment request", {
      cause: err,
    });
  }
  // Stripe's charge-amount codes (docs.stripe.com/error-codes): `amount_too_small` below the
  // currency's minimum, `amount_too_large` above its maximum, `invalid_charge_amount` for a
  // three-decimal amount not divisible by 10. The platform checks these first where it knows the
  // rule (chargeAmountProblem, a 400 naming amount); where only Stripe knows it (a minimum that is
  // "USD 0.50 equivalent" at the day's rate) Stripe's refusal is the same 400, never a 422.
  if (
    err instanceof Stripe.errors.StripeInvalidRequestError &&
    (err.code === "amount_too_small" ||
      err.code === "amount_too_large" ||
      err.code === "invalid_charge_amount") &&
    context !== "refund create"
  ) {
    return new ApiError("VALIDATION_FAILED", err.message || "Amount refused by the payment provider", {
      details: [{ path: err.param ?? "amount", message: err.message, code: err.code }],
      cause: err,
    });
  }
  if (err instanceof Stripe.errors.StripeInvalidRequestError) {
    // Our requests are validated first, so this is a state problem (e.g. already refunded).
    return new ApiError("UNPROCESSABLE", `Payment provider rejected the request: ${err.message}`, {
      details: { code: err.code ?? null, context },
      cause: err,
    });
  }
  if (err instanceof Stripe.errors.StripeError) {
    const status = err.statusCode ?? 0;
    if (status >= 500 || status === 0) {
      return new ApiError("UPSTREAM_FAILED", "Payment provider failed; retry later", { cause: err });
    }
    return new ApiError("UPSTREAM_FAILED", `Payment provider error during ${context}`, { cause: err });
  }
  return new ApiError("UPSTREAM_FAILED", `Payment provider call failed during ${context}`, { cause: err });
}

/** Runs one Stripe call, mapping failures; callers that need card errors catch them first. */
export async function callStripe<T>(context: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw mapStripeError(err, context);
  }
}

export const isCardError = (err: unknown): err is Stripe.errors.StripeCardError =>
  err instanceof Stripe.errors.StripeCardError;

export const isMissing = (err: unknown): boolean =>
  err instanceof Stripe.errors.StripeInvalidRequestError && err.code === "resource_missing";

/** Stripe refused because the object is no longer in a state that allows the call. */
export const isUnexpectedState = (err: unknown): boolean =>
  err instanceof Stripe.errors.StripeInvalidRequestError && err.code === "payment_intent_unexpected_state";

/** A price that is no longer active (its lookup key moved on): the cached id must be looked up again. */
export const isInactivePrice = (err: unknown): boolean =>
  err instanceof Stripe.errors.StripeInvalidRequestError &&
  (err.param ?? "").startsWith("items") &&
  (err.code === "resource_missing" || /inactive/.test(err.message));
