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
import { STRIPE_ERRORS } from "./stripe-errors";

// Documented errors: the middleware chain's codes (middleware.ts), STRIPE_ERRORS where a Stripe
// call is made (directly, or by a parked webhook applied on the way), and the service's own.
const tags = ["payments"];

export const createIntentRoute = createRoute({
  method: "post",
  path: "/payments/create-intent",
  operationId: "createPaymentIntent",
  tags,
  security,
  summary: "Create a payment and its Stripe PaymentIntent",
  middleware: [...payerIdempotent.middleware],
  request: { headers: idempotencyHeader, body: jsonBody(createIntentBody) },
  responses: {
    201: json(createIntentResponse, "Created"),
    // FORBIDDEN also: a merchant naming another merchant; UNPROCESSABLE: an unknown merchant_id.
    ...errorResponses(...payerIdempotent.errors, ...STRIPE_ERRORS),
  },
});

export const confirmRoute = createRoute({
  method: "post",
  path: "/payments/confirm",
  operationId: "confirmPayment",
  tags,
  security,
  summary: "Confirm server-side with a payment method, or re-read after client-side confirmation",
  middleware: [...authedIdempotent.middleware],
  request: { headers: idempotencyHeader, body: jsonBody(confirmBody) },
  responses: {
    200: json(confirmResponse, "Current state; requires_action carries next_action"),
    ...errorResponses(...authedIdempotent.errors, ...STRIPE_ERRORS, "PAYMENT_FAILED", "NOT_FOUND"),
  },
});

export const historyRoute = createRoute({
  method: "get",
  path: "/payments/history",
  operationId: "listPayments",
  tags,
  security,
  summary: "Your payments, newest first (admins may pass user_id)",
  middleware: [...authed.middleware],
  request: { query: historyQuery },
  responses: {
    200: json(historyResponse, "A page of payments"),
    ...errorResponses(...authed.errors, "FORBIDDEN"),
  },
});

export const disputesRoute = createRoute({
  method: "get",
  path: "/payments/disputes",
  operationId: "listDisputes",
  tags,
  security,
  summary: "Disputes with status and evidence due date (admin)",
  middleware: [...adminOnly.middleware],
  request: { query: disputesQuery },
  responses: {
    200: json(disputesResponse, "A page of disputes"),
    ...errorResponses(...adminOnly.errors),
  },
});

export const getPaymentRoute = createRoute({
  method: "get",
  path: "/payments/{payment_id}",
  operationId: "getPayment",
  tags,
  security,
  summary: "A payment with its receipt and refunds (owner or admin)",
  middleware: [...authed.middleware],
  request: { params: paymentIdParam },
  responses: {
    200: json(paymentDetailSchema, "The payment"),
    ...errorResponses(...authed.errors, "NOT_FOUND"),
  },
});

export const refundRoute = createRoute({
  method: "post",
  path: "/payments/{payment_id}/refund",
  operationId: "refundPayment",
  tags,
  security,
  summary: "Refund all or part of a payment (admin)",
  middleware: [...adminIdempotent.middleware],
  request: { params: paymentIdParam, headers: idempotencyHeader, body: jsonBody(refundBody) },
  responses: {
    201: json(refundResponse, "Refund created"),
    ...errorResponses(...adminIdempotent.errors, ...STRIPE_ERRORS, "NOT_FOUND"),
  },
});

export const webhookRoute = createRoute({
  method: "post",
  path: "/payments/webhook",
  operationId: "receiveStripeWebhook",
  tags,
  summary: "Stripe webhook endpoint (signed; raw body)",
  description:
    "Verified with the Stripe-Signature header over the raw body (tolerance 300 s). Each event id is processed once.",
  request: { headers: webhookHeaders },
  responses: {
    200: json(webhookResponse, "Accepted (or a duplicate)"),
    // BAD_REQUEST: a missing, bad or stale signature, or a malformed event. UNAUTHENTICATED: no
    // bearer token is needed, but a bad one is still refused (the app-wide authenticate). The
    // Stripe codes come from event handlers re-reading the object.
    ...errorResponses("BAD_REQUEST", "UNAUTHENTICATED", ...STRIPE_ERRORS),
  },
});
