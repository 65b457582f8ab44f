import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../platform/app-env";
import { principalOf } from "../platform/auth";
import { IDEMPOTENCY_HEADER, idempotencyKeyOf } from "../platform/idempotency";
import { changeSubscription } from "./subscription-change.service";
import { updatePaymentMethod } from "./subscription-payment-method.service";
import type {
  cancelSubscriptionRoute,
  changeSubscriptionRoute,
  createSubscriptionRoute,
  listSubscriptionsRoute,
  plansRoute,
  updatePaymentMethodRoute,
} from "./subscriptions.routes";
import {
  cancelSubscription,
  createSubscription,
  listPlans,
  listSubscriptions,
} from "./subscriptions.service";

export const plansHandler: RouteHandler<typeof plansRoute, AppEnv> = async (c) => {
  return c.json(listPlans(), 200);
};

export const createSubscriptionHandler: RouteHandler<typeof createSubscriptionRoute, AppEnv> = async (c) => {
  const key = idempotencyKeyOf(c.req.header(IDEMPOTENCY_HEADER));
  return c.json(await createSubscription(c.var.deps, principalOf(c), c.req.valid("json"), key), 201);
};

export const listSubscriptionsHandler: RouteHandler<typeof listSubscriptionsRoute, AppEnv> = async (c) => {
  return c.json(await listSubscriptions(c.var.deps, principalOf(c)), 200);
};

export const cancelSubscriptionHandler: RouteHandler<typeof cancelSubscriptionRoute, AppEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const { at_period_end } = c.req.valid("json");
  return c.json(await cancelSubscription(c.var.deps, principalOf(c), id, at_period_end), 200);
};

export const updatePaymentMethodHandler: RouteHandler<typeof updatePaymentMethodRoute, AppEnv> = async (
  c,
) => {
  const { id } = c.req.valid("param");
  const key = idempotencyKeyOf(c.req.header(IDEMPOTENCY_HEADER));
  const { payment_method } = c.req.valid("json");
  return c.json(await updatePaymentMethod(c.var.deps, principalOf(c), id, payment_method, key), 200);
};

export const changeSubscriptionHandler: RouteHandler<typeof changeSubscriptionRoute, AppEnv> = async (c) => {
  const key = idempotencyKeyOf(c.req.header(IDEMPOTENCY_HEADER));
  const { id } = c.req.valid("param");
  return c.json(await changeSubscription(c.var.deps, principalOf(c), id, c.req.valid("json"), key), 200);
};
