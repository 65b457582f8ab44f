import { createRoute } from "@hono/zod-openapi";
import { errorResponses, json, jsonBody, security } from "../platform/openapi";
import { authed, authedIdempotent, payerIdempotent } from "./middleware";
import {
  cancelSubscriptionBody,
  changeSubscriptionBody,
  createSubscriptionBody,
  idempotencyHeader,
  plansResponse,
  subscriptionIdParam,
  subscriptionSchema,
  subscriptionsResponse,
  updatePaymentMethodBody,
  updatePaymentMethodResponse,
} from "./schemas";
import { STRIPE_ERRORS } from "./stripe-errors";

// Documented errors are built as in payments.routes.ts (see the note there).
const tags = ["subscriptions"];

export const plansRoute = createRoute({
  method: "get",
  path: "/subscriptions/plans",
  operationId: "listPlans",
  tags,
  security,
  summary: "Available plans",
  middleware: [...authed.middleware],
  responses: {
    200: json(plansResponse, "Plans"),
    ...errorResponses(...authed.errors),
  },
});

export const createSubscriptionRoute = createRoute({
  method: "post",
  path: "/subscriptions",
  operationId: "createSubscription",
  tags,
  security,
  summary: "Subscribe to a plan",
  middleware: [...payerIdempotent.middleware],
  request: { headers: idempotencyHeader, body: jsonBody(createSubscriptionBody) },
  responses: {
    201: json(subscriptionSchema, "Subscribed"),
    // CONFLICT also when a live subscription already exists; PAYMENT_FAILED when the card is declined.
    ...errorResponses(...payerIdempotent.errors, ...STRIPE_ERRORS, "PAYMENT_FAILED"),
  },
});

export const listSubscriptionsRoute = createRoute({
  method: "get",
  path: "/subscriptions",
  operationId: "listSubscriptions",
  tags,
  security,
  summary: "Your subscriptions",
  middleware: [...authed.middleware],
  responses: {
    200: json(subscriptionsResponse, "Subscriptions"),
    ...errorResponses(...authed.errors),
  },
});

export const cancelSubscriptionRoute = createRoute({
  method: "post",
  path: "/subscriptions/{id}/cancel",
  operationId: "cancelSubscription",
  tags,
  security,
  summary: "Cancel now or at the end of the period",
  middleware: [...authedIdempotent.middleware],
  request: {
    params: subscriptionIdParam,
    headers: idempotencyHeader,
    body: jsonBody(cancelSubscriptionBody),
  },
  responses: {
    200: json(subscriptionSchema, "Updated subscription"),
    ...errorResponses(...authedIdempotent.errors, ...STRIPE_ERRORS, "NOT_FOUND"),
  },
});

export const updatePaymentMethodRoute = createRoute({
  method: "post",
  path: "/subscriptions/{id}/payment-method",
  operationId: "updateSubscriptionPaymentMethod",
  tags,
  security,
  summary: "Set the payment method and pay the open invoice of a past_due subscription",
  middleware: [...authedIdempotent.middleware],
  request: {
    params: subscriptionIdParam,
    headers: idempotencyHeader,
    body: jsonBody(updatePaymentMethodBody),
  },
  responses: {
    200: json(updatePaymentMethodResponse, "Default updated; the open invoice paid if there was one"),
    // PAYMENT_FAILED: the card was declined (nothing changed); CONFLICT: ended, still being set
    // up, or the invoice was paid by a concurrent request; UNPROCESSABLE: free plan, or Stripe
    // refused the method (spent, another customer's).
    ...errorResponses(...authedIdempotent.errors, ...STRIPE_ERRORS, "NOT_FOUND", "PAYMENT_FAILED"),
  },
});

export const changeSubscriptionRoute = createRoute({
  method: "post",
  path: "/subscriptions/{id}/change",
  operationId: "changeSubscriptionPlan",
  tags,
  security,
  summary: "Change plan: an upgrade now (prorated), or any change at the period end",
  middleware: [...authedIdempotent.middleware],
  request: {
    params: subscriptionIdParam,
    headers: idempotencyHeader,
    body: jsonBody(changeSubscriptionBody),
  },
  responses: {
    200: json(subscriptionSchema, "Subscription, with the pending change if it is not yet in effect"),
    // CONFLICT: same plan, ended, not active, set to cancel, a change already pending, or still being
    // set up (with Retry-After); UNPROCESSABLE: to free, or a downgrade asked for now.
    ...errorResponses(...authedIdempotent.errors, ...STRIPE_ERRORS, "NOT_FOUND", "PAYMENT_FAILED"),
  },
});
