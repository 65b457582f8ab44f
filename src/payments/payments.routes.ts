import { createRoute } from "@hono/zod-openapi";
import { errorResponses, json, jsonBody, security } from "../platform/openapi";
import { adminIdempotent, adminOnly, authed, authedIdempotent, payerIdempotent } from "./middleware";
import {
  confirmBody,
  confirmResponse,
  createIntentBody,
  createIntentResponse,
  disputesQuery,
  disputesResponse,
  historyQuery,
  historyResponse,
  idempotencyHeader,
  paymentDetailSchema,
  paymentIdParam,
  refundBody,
  refundResponse,
  webhookHeaders,
  webhookResponse,
} from "./schemas";

// Where the error codes come from: requireAuth (UNAUTHENTICATED), requireRole (FORBIDDEN),
// the payment rate limit (RATE_LIMITED), the Idempotency-Key middleware (CONFLICT while in
// progress, IDEMPOTENCY_CONFLICT for another body), and mapStripeError in stripe-errors.ts for
// every Stripe call (UNPROCESSABLE, UPSTREAM_FAILED, UPSTREAM_UNAVAILABLE; IDEMPOTENCY_CONFLICT
// for a call with our idempotency key; PAYMENT_FAILED only where a card is charged).
const tags = ["payments"];

export const createIntentRoute = createRoute({
  method: "post",
  path: "/payments/create-intent",
  tags,
  security,
  summary: "Create a payment and its Stripe PaymentIntent",
  middleware: [...payerIdempotent],
  request: { headers: idempotencyHeader, body: jsonBody(createIntentBody) },
  responses: {
    201: json(createIntentResponse, "Created"),
    ...errorResponses(
      "UNAUTHENTICATED",
      "FORBIDDEN",
      "CONFLICT",
      "IDEMPOTENCY_CONFLICT",
      "UNPROCESSABLE",
      "RATE_LIMITED",
      "UPSTREAM_FAILED",
      "UPSTREAM_UNAVAILABLE",
    ),
  },
});

export const confirmRoute = createRoute({
  method: "post",
  path: "/payments/confirm",
  tags,
  security,
  summary: "Confirm server-side with a payment method, or re-read after client-side confirmation",
  middleware: [...authedIdempotent],
  request: { headers: idempotencyHeader, body: jsonBody(confirmBody) },
  responses: {
    200: json(confirmResponse, "Current state; requires_action carries next_action"),
    ...errorResponses(
      "UNAUTHENTICATED",
      "PAYMENT_FAILED",
      "NOT_FOUND",
      "CONFLICT",
      "IDEMPOTENCY_CONFLICT",
      "UNPROCESSABLE",
      "RATE_LIMITED",
      "UPSTREAM_FAILED",
      "UPSTREAM_UNAVAILABLE",
    ),
  },
});

export const historyRoute = createRoute({
  method: "get",
  path: "/payments/history",
  tags,
  security,
  summary: "Your payments, newest first (admins may pass user_id)",
  middleware: [...authed],
  request: { query: historyQuery },
  responses: {
    200: json(historyResponse, "A page of payments"),
    ...errorResponses("UNAUTHENTICATED", "FORBIDDEN", "RATE_LIMITED"),
  },
});

export const disputesRoute = createRoute({
  method: "get",
  path: "/payments/disputes",
  tags,
  security,
  summary: "Disputes with status and evidence due date (admin)",
  middleware: [...adminOnly],
  request: { query: disputesQuery },
  responses: {
    200: json(disputesResponse, "A page of disputes"),
    ...errorResponses("UNAUTHENTICATED", "FORBIDDEN", "RATE_LIMITED"),
  },
});

export const getPaymentRoute = createRoute({
  method: "get",
  path: "/payments/{payment_id}",
  tags,
  security,
  summary: "A payment with its receipt and refunds (owner or admin)",
  middleware: [...authed],
  request: { params: paymentIdParam },
  responses: {
    200: json(paymentDetailSchema, "The payment"),
    ...errorResponses("UNAUTHENTICATED", "NOT_FOUND", "RATE_LIMITED"),
  },
});

export const refundRoute = createRoute({
  method: "post",
  path: "/payments/{payment_id}/refund",
  tags,
  security,
  summary: "Refund all or part of a payment (admin)",
  middleware: [...adminIdempotent],
  request: { params: paymentIdParam, headers: idempotencyHeader, body: jsonBody(refundBody) },
  responses: {
    201: json(refundResponse, "Refund created"),
    ...errorResponses(
      "UNAUTHENTICATED",
      "FORBIDDEN",
      "NOT_FOUND",
      "CONFLICT",
      "IDEMPOTENCY_CONFLICT",
      "UNPROCESSABLE",
      "RATE_LIMITED",
      "UPSTREAM_FAILED",
      "UPSTREAM_UNAVAILABLE",
    ),
  },
});

export const webhookRoute = createRoute({
  method: "post",
  path: "/payments/webhook",
  tags,
  summary: "Stripe webhook endpoint (signed; raw body)",
  description:
    "Verified with the Stripe-Signature header over the raw body (tolerance 300 s). Each event id is processed once.",
  request: { headers: webhookHeaders },
  responses: {
    200: json(webhookResponse, "Accepted (or a duplicate)"),
    // BAD_REQUEST: a missing, bad or stale signature, or a malformed event. UNAUTHENTICATED: no
    // bearer token is needed, but a bad one is still refused (the app-wide authenticate). The
    // Stripe codes come from handlers re-reading the object (reads only: no key conflicts).
    ...errorResponses(
      "BAD_REQUEST",
      "UNAUTHENTICATED",
      "UNPROCESSABLE",
      "UPSTREAM_FAILED",
      "UPSTREAM_UNAVAILABLE",
    ),
  },
});
