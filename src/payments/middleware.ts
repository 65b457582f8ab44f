import { requireAuth, requireRole } from "../platform/auth";
import { idempotency } from "../platform/idempotency";
import { rateLimit } from "../platform/rate-limit";

/** Per-user limit on payment endpoints (binding: 30 requests / 60 s). */
export const payRateLimit = rateLimit({ binding: (e) => e.PAYMENT_RATE_LIMITER, prefix: "pay" });
const replay = idempotency();

/** Authenticated, rate limited. */
export const authed = [requireAuth, payRateLimit] as const;
/** Authenticated, rate limited, Idempotency-Key aware (state-changing POSTs). */
export const authedIdempotent = [requireAuth, payRateLimit, replay] as const;
/**
 * Starting a payment or a subscription: only people who pay (users and merchants).
 * Service tokens are machines and admins are staff; neither has a card to charge.
 */
export const payerIdempotent = [requireAuth, requireRole("user", "merchant"), payRateLimit, replay] as const;
export const adminIdempotent = [requireAuth, requireRole("admin"), payRateLimit, replay] as const;
export const adminOnly = [requireAuth, requireRole("admin"), payRateLimit] as const;
