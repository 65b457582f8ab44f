import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../platform/app-env";
import { principalOf } from "../platform/auth";
import { IDEMPOTENCY_HEADER, idempotencyKeyOf } from "../platform/idempotency";
import { listDisputes } from "./disputes.service";
import { paymentHistory } from "./history.service";
import type {
  confirmRoute,
  createIntentRoute,
  disputesRoute,
  getPaymentRoute,
  historyRoute,
  refundRoute,
  webhookRoute,
} from "./payments.routes";
import { confirmPayment, createIntent, paymentDetail } from "./payments.service";
import { refundPayment } from "./refunds.service";
import { handleWebhook } from "./webhooks";

export const createIntentHandler: RouteHandler<typeof createIntentRoute, AppEnv> = async (c) => {
  const key = idempotencyKeyOf(c.req.header(IDEMPOTENCY_HEADER));
  const body = await createIntent(c.var.deps, principalOf(c), c.req.valid("json"), key);
  return c.json(body, 201);
};

export const confirmHandler: RouteHandler<typeof confirmRoute, AppEnv> = async (c) => {
  return c.json(await confirmPayment(c.var.deps, principalOf(c), c.req.valid("json")), 200);
};

export const historyHandler: RouteHandler<typeof historyRoute, AppEnv> = async (c) => {
  return c.json(await paymentHistory(c.var.deps, principalOf(c), c.req.valid("query")), 200);
};

export const disputesHandler: RouteHandler<typeof disputesRoute, AppEnv> = async (c) => {
  return c.json(await listDisputes(c.var.deps, c.req.valid("query")), 200);
};

export const getPaymentHandler: RouteHandler<typeof getPaymentRoute, AppEnv> = async (c) => {
  const { payment_id } = c.req.valid("param");
  return c.json(await paymentDetail(c.var.deps, principalOf(c), payment_id), 200);
};

export const refundHandler: RouteHandler<typeof refundRoute, AppEnv> = async (c) => {
  const { payment_id } = c.req.valid("param");
  const result = await refundPayment(c.var.deps, principalOf(c), payment_id, c.req.valid("json"), {
    requestId: c.var.requestId,
    clientKey: idempotencyKeyOf(c.req.header(IDEMPOTENCY_HEADER)),
  });
  return c.json(result, 201);
};

export const webhookHandler: RouteHandler<typeof webhookRoute, AppEnv> = async (c) => {
  // The signature covers the exact bytes, so read the raw text, never parsed JSON.
  const body = await c.req.text();
  return c.json(await handleWebhook(c.var.deps, body, c.req.header("stripe-signature")), 200);
};
