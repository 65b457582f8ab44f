import { createRoute, z } from "@hono/zod-openapi";
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
  pick,
  refundBody,
  refundResponse,
} from "./schemas";

const tags = ["payments"];
const security = [{ bearer: [] }];
const json = <T>(schema: T) => ({ "application/json": { schema } });

export const createIntentRoute = createRoute({
  method: "post",
  path: "/payments/create-intent",
  tags,
  security,
  summary: "Create a payment and its Stripe PaymentIntent",
  middleware: [...payerIdempotent],
  request: { headers: idempotencyHeader, body: { content: json(createIntentBody), required: true } },
  responses: {
    201: { description: "Created", content: json(createIntentResponse) },
    ...pick(400, 401, 403, 409, 429, 500, 502, 503),
  },
});

export const confirmRoute = createRoute({
  method: "post",
  path: "/payments/confirm",
  tags,
  security,
  summary: "Confirm server-side with a payment method, or re-read after client-side confirmation",
  middleware: [...authedIdempotent],
  request: { headers: idempotencyHeader, body: { content: json(confirmBody), required: true } },
  responses: {
    200: {
      description: "Current state; requires_action carries next_action",
      content: json(confirmResponse),
    },
    ...pick(400, 401, 402, 404, 409, 422, 429, 500, 502, 503),
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
    200: { description: "A page of payments", content: json(historyResponse) },
    ...pick(400, 401, 403, 429, 500),
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
    200: { description: "A page of disputes", content: json(disputesResponse) },
    ...pick(400, 401, 403, 429, 500),
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
    200: { description: "The payment", content: json(paymentDetailSchema) },
    ...pick(400, 401, 404, 429, 500),
  },
});

export const refundRoute = createRoute({
  method: "post",
  path: "/payments/{payment_id}/refund",
  tags,
  security,
  summary: "Refund all or part of a payment (admin)",
  middleware: [...adminIdempotent],
  request: {
    params: paymentIdParam,
    headers: idempotencyHeader,
    body: { content: json(refundBody), required: true },
  },
  responses: {
    201: { description: "Refund created", content: json(refundResponse) },
    ...pick(400, 401, 403, 404, 409, 422, 429, 500, 502, 503),
  },
});

export const webhookRoute = createRoute({
  method: "post",
  path: "/payments/webhook",
  tags,
  summary: "Stripe webhook endpoint (signed; raw body)",
  description:
    "Verified with the Stripe-Signature header over the raw body (tolerance 300 s). Each event id is processed once.",
  request: {
    headers: z.object({ "stripe-signature": z.string().optional() }),
  },
  responses: {
    200: {
      description: "Accepted (or a duplicate)",
      content: json(z.object({ received: z.literal(true), duplicate: z.boolean(), status: z.string() })),
    },
    ...pick(400, 500, 502, 503),
  },
});
