import { requireAuth, requireRole } from "../platform/auth";
import type { ErrorCode } from "../platform/errors";
import { idempotency } from "../platform/idempotency";
import { rateLimit } from "../platform/rate-limit";

/**
 * Per-user limit on payment endpoints (binding: 30 requests / 60 s), one budget (`pay:<user>`)
 * for reads and writes. On the read routes (GET) a caller's first 10 in a minute do not wait
 * for the binding's answer (the binding still counts them and refuses the rest): the wait was a
 * fifth of the history endpoint's time (BENCHMARKS.md). Routes that create or change a charge
 * always wait for it: a caller whose budget is spent (elsewhere, or a moment ago) must not get
 * one more PaymentIntent or refund through Stripe (test/payments/rate-limit-precheck.test.ts).
 */
const payReadRateLimit = rateLimit({
  binding: (e) => e.PAYMENT_RATE_LIMITER,
  prefix: "pay",
  precheck: { under: 10, windowMs: 60_000 },
});
const payRateLimit = rateLimit({ binding: (e) => e.PAYMENT_RATE_LIMITER, prefix: "pay" });
const replay = idempotency();

// Each chain travels with the error codes it can answer, so a route's documented errors
// follow its middleware: requireAuth → UNAUTHENTICATED, requireRole → FORBIDDEN, the rate
// limit → RATE_LIMITED, Idempotency-Key → CONFLICT (in progress) and IDEMPOTENCY_CONFLICT.
const AUTHED: ErrorCode[] = ["UNAUTHENTICATED", "RATE_LIMITED"];
const ROLE: ErrorCode[] = [...AUTHED, "FORBIDDEN"];
const REPLAY: ErrorCode[] = ["CONFLICT", "IDEMPOTENCY_CONFLICT"];

/** Authenticated, rate limited (reads: the pre-check applies). */
export const authed = { middleware: [requireAuth, payReadRateLimit], errors: AUTHED } as const;
/** Authenticated, rate limited, Idempotency-Key aware (state-changing POSTs). */
export const authedIdempotent = {
  middleware: [requireAuth, payRateLimit, replay],
  errors: [...AUTHED, ...REPLAY],
} as const;
/**
 * Starting a payment or a subscription: only people who pay (users and merchants).
 * Service tokens are machines and admins are staff; neither has a card to charge.
 */
export const payerIdempotent = {
  middleware: [requireAuth, requireRole("user", "merchant"), payRateLimit, replay],
  errors: [...ROLE, ...REPLAY],
} as const;
export const adminIdempotent = {
  middleware: [requireAuth, requireRole("admin"), payRateLimit, replay],
  errors: [...ROLE, ...REPLAY],
} as const;
/** Admin reads (the pre-check applies). */
export const adminOnly = {
  middleware: [requireAuth, requireRole("admin"), payReadRateLimit],
  errors: ROLE,
} as const;
